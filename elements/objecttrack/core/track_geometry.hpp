// SPDX-License-Identifier: LGPL-2.1-or-later
// Geometry for tracking: boxes and IoU, the image -> ground homography, polygons, counting
// lines, and the parsers for the element's property strings. Plain C++, no GStreamer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace keepup::track {

struct Point {
  double x = 0, y = 0;
};

struct Box {
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
  double width() const { return x2 - x1; }
  double height() const { return y2 - y1; }
  double area() const { return width() > 0 && height() > 0 ? width() * height() : 0.0; }
  Point bottom_centre() const { return {(x1 + x2) * 0.5, y2}; }
  Point centre() const { return {(x1 + x2) * 0.5, (y1 + y2) * 0.5}; }
};
double iou(const Box &a, const Box &b);

// A property string that does not parse: the message says which part and why.
struct ParseError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// Image -> ground plane (metres). Built from four point pairs, or from a scale alone.
class Homography {
public:
  Homography() = default;
  // Throws ParseError when the points are degenerate (three on a line, repeated points).
  static Homography from_points(const std::array<Point, 4> &image,
                                const std::array<Point, 4> &ground);
  static Homography from_scale(double metres_per_pixel);
  Point to_ground(const Point &image) const;
  // Ground metres per image pixel around `image` (the mean of the x and y steps): how far a
  // one-pixel error in a box moves the ground point there.
  double metres_per_pixel_at(const Point &image) const;

private:
  std::array<double, 9> h_{1, 0, 0, 0, 1, 0, 0, 0, 1};
};

struct CountLine {
  std::string name;
  Point a, b;
};

// Which side of a->b p lies on: > 0 left, < 0 right (image coordinates, y down).
double side_of(const Point &a, const Point &b, const Point &p);
// Crossing from `from` to `to` over the segment: +1 (right to left of a->b), -1 (left to
// right), 0 (no crossing). Touching an end point counts once.
int crossing(const CountLine &line, const Point &from, const Point &to);
bool inside_polygon(const std::vector<Point> &polygon, const Point &p);

// "x1,y1:X1,Y1;x2,y2:X2,Y2;x3,y3:X3,Y3;x4,y4:X4,Y4" -> homography.
Homography parse_calibration(const std::string &text);
// "x,y;x,y;..." (at least 3 points).
std::vector<Point> parse_polygon(const std::string &text);
// The same for another property: errors start with "<context>: ".
std::vector<Point> parse_polygon(const std::string &text, const std::string &context);
// Names of lines and zones: [A-Za-z0-9_-]+, else ParseError "<context>: name ...".
void check_name(const std::string &name, const std::string &context);
// "name:rest" -> {name, rest}: the name checked and not in `seen` (added to it); `form`
// is the expected shape for the error ("name:x1,y1,x2,y2").
std::pair<std::string, std::string> named_item(const std::string &item, const std::string &context,
                                               const std::string &form,
                                               std::set<std::string> &seen);
// "name:x1,y1,x2,y2;..." (names unique, [A-Za-z0-9_-]+).
std::vector<CountLine> parse_lines(const std::string &text);

} // namespace keepup::track
