// SPDX-License-Identifier: LGPL-2.1-or-later
// A JSON Schema validator for the keywords keepup's schemas use (Debian 12 has no C++
// validator; python3-jsonschema is not a build dependency): $ref to "#/$defs/...", oneOf,
// type, const, enum, required, properties, additionalProperties (boolean), items, minimum,
// pattern. Any other keyword is an error, so the schema never says more than is checked.
#pragma once

#include <set>
#include <string>

#include <glib.h>
#include <nlohmann/json.hpp>

namespace keepup::test {

class SchemaLite {
public:
  explicit SchemaLite(nlohmann::json schema) : root_(std::move(schema)) {}

  // "" when `value` is valid, else the first reason with its JSON pointer.
  std::string validate(const nlohmann::json &value) const { return check(root_, value, ""); }

private:
  const nlohmann::json &resolve(const std::string &ref) const {
    if (ref.rfind("#/", 0) != 0)
      throw std::runtime_error("schema: only local $ref, got " + ref);
    return root_.at(nlohmann::json::json_pointer(ref.substr(1)));
  }

  static bool has_type(const nlohmann::json &v, const std::string &t) {
    if (t == "object")
      return v.is_object();
    if (t == "array")
      return v.is_array();
    if (t == "string")
      return v.is_string();
    if (t == "integer")
      return v.is_number_integer();
    if (t == "number")
      return v.is_number();
    if (t == "boolean")
      return v.is_boolean();
    if (t == "null")
      return v.is_null();
    throw std::runtime_error("schema: unknown type " + t);
  }

  std::string check(const nlohmann::json &s, const nlohmann::json &v, const std::string &at) const {
    static const std::set<std::string> annotations = {"$schema",     "$id",   "$comment", "title",
                                                      "description", "$defs", "examples"};
    for (const auto &[key, rule] : s.items()) {
      if (annotations.count(key))
        continue;
      std::string why;
      if (key == "$ref") {
        why = check(resolve(rule.get<std::string>()), v, at);
      } else if (key == "oneOf") {
        int valid = 0;
        std::string reasons;
        for (const auto &alt : rule) {
          const std::string r = check(alt, v, at);
          valid += r.empty();
          reasons += (reasons.empty() ? "" : " | ") + r;
        }
        if (valid != 1)
          why = "matches " + std::to_string(valid) + " of oneOf (" + reasons + ")";
      } else if (key == "type") {
        if (!has_type(v, rule.get<std::string>()))
          why = "is not of type " + rule.get<std::string>();
      } else if (key == "const") {
        if (v != rule)
          why = "is not " + rule.dump();
      } else if (key == "enum") {
        bool found = false;
        for (const auto &e : rule)
          found = found || v == e;
        if (!found)
          why = "is not one of " + rule.dump();
      } else if (key == "required") {
        for (const auto &name : rule)
          if (v.is_object() && !v.contains(name.get<std::string>()))
            why = "lacks " + name.get<std::string>();
      } else if (key == "properties") {
        if (v.is_object())
          for (const auto &[name, sub] : rule.items())
            if (v.contains(name) && why.empty())
              why = check(sub, v.at(name), at + "/" + name);
        if (!why.empty())
          return why;
      } else if (key == "additionalProperties") {
        if (!rule.is_boolean())
          throw std::runtime_error("schema: additionalProperties must be a boolean here");
        if (v.is_object() && !rule.get<bool>())
          for (const auto &[name, sub] : v.items())
            if (!s.contains("properties") || !s.at("properties").contains(name))
              why = "has the unknown property " + name;
      } else if (key == "items") {
        if (v.is_array())
          for (std::size_t i = 0; i < v.size() && why.empty(); ++i)
            why = check(rule, v[i], at + "/" + std::to_string(i));
        if (!why.empty())
          return why;
      } else if (key == "minimum") {
        if (v.is_number() && v.get<double>() < rule.get<double>())
          why = "is below " + rule.dump();
      } else if (key == "pattern") {
        // GLib's PCRE regex (the patterns used are the same in ECMA-262 and PCRE): std::regex
        // trips GCC 12's -Wmaybe-uninitialized in the -O1 sanitizer build.
        if (v.is_string() &&
            !g_regex_match_simple(rule.get<std::string>().c_str(), v.get<std::string>().c_str(),
                                  G_REGEX_DEFAULT, G_REGEX_MATCH_DEFAULT))
          why = "does not match " + rule.get<std::string>();
      } else {
        throw std::runtime_error("schema: keyword '" + key + "' is not supported by SchemaLite");
      }
      if (!why.empty())
        return (at.empty() ? "/" : at) + " " + why;
    }
    return "";
  }

  nlohmann::json root_;
};

} // namespace keepup::test
