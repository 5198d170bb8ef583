// SPDX-License-Identifier: LGPL-2.1-or-later
#include "track_geometry.hpp"

#include "parse_number.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <tuple>
#include <utility>

namespace keepup::track {

double iou(const Box &a, const Box &b) {
  const Box inter{std::max(a.x1, b.x1), std::max(a.y1, b.y1), std::min(a.x2, b.x2),
                  std::min(a.y2, b.y2)};
  const double i = inter.area();
  const double u = a.area() + b.area() - i;
  return u > 0 ? i / u : 0.0;
}

namespace {

// Solves the n x n system a * x = b in place (partial pivoting). False if singular.
bool solve(std::vector<std::vector<double>> a, std::vector<double> b, std::vector<double> &x) {
  const std::size_t n = b.size();
  for (std::size_t col = 0; col < n; ++col) {
    std::size_t pivot = col;
    for (std::size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col]))
        pivot = r;
    if (std::abs(a[pivot][col]) < 1e-12)
      return false;
    std::swap(a[pivot], a[col]);
    std::swap(b[pivot], b[col]);
    for (std::size_t r = 0; r < n; ++r) {
      if (r == col)
        continue;
      const double f = a[r][col] / a[col][col];
      for (std::size_t c = col; c < n; ++c)
        a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  x.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = b[i] / a[i][i];
  return true;
}

double cross(const Point &o, const Point &a, const Point &b) {
  return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

// Fields between `sep`, trimmed; an empty field is an error naming the property.
std::vector<std::string> split(const std::string &text, char sep, const std::string &context) {
  if (auto fields = split_fields(text, sep))
    return *std::move(fields);
  throw ParseError(context + ": empty field in '" + text + "'");
}

double number(const std::string &text, const std::string &context) {
  if (const std::optional<double> v = parse_decimal(text))
    return *v;
  throw ParseError(context + ": '" + text + "' is not a number (decimal, e.g. 12 or -3.5)");
}

Point point(const std::string &text, const std::string &context) {
  const auto xy = split(text, ',', context);
  if (xy.size() != 2)
    throw ParseError(context + ": '" + text + "' is not a point x,y");
  return {number(xy[0], context), number(xy[1], context)};
}

// Twice the signed area (shoelace); 0 for points on one line.
double doubled_area(const std::vector<Point> &poly) {
  double sum = 0;
  for (std::size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++)
    sum += poly[j].x * poly[i].y - poly[i].x * poly[j].y;
  return sum;
}

} // namespace

Homography Homography::from_points(const std::array<Point, 4> &img,
                                   const std::array<Point, 4> &gnd) {
  for (int i = 0; i < 4; ++i)
    for (int j = i + 1; j < 4; ++j)
      for (int k = j + 1; k < 4; ++k)
        if (std::abs(cross(img[i], img[j], img[k])) < 1e-6 ||
            std::abs(cross(gnd[i], gnd[j], gnd[k])) < 1e-9)
          throw ParseError("calibration: three of the four points lie on one line");
  // h33 = 1; two equations per pair.
  std::vector<std::vector<double>> a(8, std::vector<double>(8, 0.0));
  std::vector<double> b(8, 0.0);
  for (int i = 0; i < 4; ++i) {
    const double x = img[i].x, y = img[i].y, u = gnd[i].x, v = gnd[i].y;
    a[2 * i] = {x, y, 1, 0, 0, 0, -u * x, -u * y};
    b[2 * i] = u;
    a[2 * i + 1] = {0, 0, 0, x, y, 1, -v * x, -v * y};
    b[2 * i + 1] = v;
  }
  std::vector<double> h;
  if (!solve(a, b, h))
    throw ParseError("calibration: the four point pairs do not define a homography");
  Homography out;
  for (int i = 0; i < 8; ++i) {
    out.h_[static_cast<std::size_t>(i)] = h[static_cast<std::size_t>(i)];
    if (!std::isfinite(h[static_cast<std::size_t>(i)]))
      throw ParseError("calibration: the four point pairs give no finite homography "
                       "(coordinates too large or too far apart)");
  }
  out.h_[8] = 1.0;
  // Rounding can leave a solution that does not map the points it was built from (very large
  // or badly scaled coordinates): check each image point lands on its ground point.
  double scale = 1;
  for (const Point &g : gnd)
    scale = std::max({scale, std::abs(g.x), std::abs(g.y)});
  for (int i = 0; i < 4; ++i) {
    const Point g = out.to_ground(img[i]);
    if (!(std::abs(g.x - gnd[i].x) <= 1e-4 * scale && std::abs(g.y - gnd[i].y) <= 1e-4 * scale))
      throw ParseError("calibration: the homography does not map image point " +
                       std::to_string(i + 1) +
                       " onto its ground point (coordinates too large or badly scaled)");
  }
  return out;
}

Homography Homography::from_scale(double m) {
  Homography out;
  out.h_ = {m, 0, 0, 0, m, 0, 0, 0, 1};
  return out;
}

Point Homography::to_ground(const Point &p) const {
  const double w = h_[6] * p.x + h_[7] * p.y + h_[8];
  return {(h_[0] * p.x + h_[1] * p.y + h_[2]) / w, (h_[3] * p.x + h_[4] * p.y + h_[5]) / w};
}

double Homography::metres_per_pixel_at(const Point &p) const {
  const Point g = to_ground(p), gx = to_ground({p.x + 1, p.y}), gy = to_ground({p.x, p.y + 1});
  return 0.5 * (std::hypot(gx.x - g.x, gx.y - g.y) + std::hypot(gy.x - g.x, gy.y - g.y));
}

double side_of(const Point &a, const Point &b, const Point &p) {
  return cross(a, b, p);
}

int crossing(const CountLine &line, const Point &from, const Point &to) {
  const double s1 = side_of(line.a, line.b, from), s2 = side_of(line.a, line.b, to);
  // A sign change; landing on the line counts, leaving it again does not (counted once).
  if (!((s1 < 0 && s2 >= 0) || (s1 > 0 && s2 <= 0)))
    return 0;
  // The movement must also cross the segment itself, not its extension.
  const double t1 = side_of(from, to, line.a), t2 = side_of(from, to, line.b);
  if ((t1 > 0 && t2 > 0) || (t1 < 0 && t2 < 0))
    return 0;
  // y grows downwards: positive cross product = clockwise on screen. Report +1 when the
  // point moves from the right of a->b (s < 0) to its left.
  return s1 < 0 ? 1 : -1;
}

bool inside_polygon(const std::vector<Point> &poly, const Point &p) {
  bool inside = false;
  for (std::size_t i = 0, j = poly.size() - 1; i < poly.size(); j = i++) {
    const Point &a = poly[i], &b = poly[j];
    if ((a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x)
      inside = !inside;
  }
  return inside;
}

Homography parse_calibration(const std::string &text) {
  const auto pairs = split(text, ';', "calibration");
  if (pairs.size() != 4)
    throw ParseError("calibration: needs four 'x,y:X,Y' pairs separated by ';', got " +
                     std::to_string(pairs.size()));
  std::array<Point, 4> img, gnd;
  for (std::size_t i = 0; i < 4; ++i) {
    const auto halves = split(pairs[i], ':', "calibration");
    if (halves.size() != 2)
      throw ParseError("calibration: '" + pairs[i] + "' is not 'x,y:X,Y'");
    img[i] = point(halves[0], "calibration");
    gnd[i] = point(halves[1], "calibration");
  }
  return Homography::from_points(img, gnd);
}

std::vector<Point> parse_polygon(const std::string &text, const std::string &context) {
  std::vector<Point> poly;
  for (const auto &p : split(text, ';', context))
    poly.push_back(point(p, context));
  if (poly.size() < 3)
    throw ParseError(context + ": a polygon needs at least 3 points 'x,y;x,y;x,y', got " +
                     std::to_string(poly.size()));
  if (std::abs(doubled_area(poly)) < 1e-6)
    throw ParseError(context + ": the polygon '" + text +
                     "' encloses no area (its points are on one line or repeated)");
  return poly;
}

std::vector<Point> parse_polygon(const std::string &text) {
  return parse_polygon(text, "roi");
}

void check_name(const std::string &name, const std::string &context) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
      }))
    throw ParseError(context + ": name '" + name + "' may only use letters, digits, _ and -");
}

std::pair<std::string, std::string> named_item(const std::string &item, const std::string &context,
                                               const std::string &form,
                                               std::set<std::string> &seen) {
  const auto colon = item.find(':');
  if (colon == std::string::npos || colon == 0)
    throw ParseError(context + ": '" + item + "' is not '" + form + "'");
  std::string name = item.substr(0, colon);
  check_name(name, context);
  if (!seen.insert(name).second)
    throw ParseError(context + ": name '" + name + "' is used twice");
  return {std::move(name), item.substr(colon + 1)};
}

std::vector<CountLine> parse_lines(const std::string &text) {
  std::vector<CountLine> lines;
  std::set<std::string> names;
  for (const auto &item : split(text, ';', "lines")) {
    CountLine line;
    std::string rest;
    std::tie(line.name, rest) = named_item(item, "lines", "name:x1,y1,x2,y2", names);
    const auto coords = split(rest, ',', "lines");
    if (coords.size() != 4)
      throw ParseError("lines: '" + item + "' needs four numbers x1,y1,x2,y2");
    line.a = {number(coords[0], "lines"), number(coords[1], "lines")};
    line.b = {number(coords[2], "lines"), number(coords[3], "lines")};
    if (std::hypot(line.b.x - line.a.x, line.b.y - line.a.y) < 1e-9)
      throw ParseError("lines: '" + line.name + "' has zero length");
    lines.push_back(line);
  }
  return lines;
}

} // namespace keepup::track
