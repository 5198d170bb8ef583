// SPDX-License-Identifier: LGPL-2.1-or-later
#include "ts_record.hpp"

#include <cstdio>

namespace keepup::ts {

std::string rotation_settings_error(const RecordSettings &settings,
                                    const LocationPattern &location) {
  if (settings.rotates() && !location.numbered())
    return "max-size-bytes/max-size-time need a %d pattern in location ('" + location.text() + "')";
  return {};
}

Rotation::Rotation(const RecordSettings &settings, const LocationPattern &location)
    : max_bytes_(settings.max_size_bytes), max_time_ns_(settings.max_size_time_ns),
      numbered_(location.numbered()) {}

void Rotation::after_packet(uint64_t file_bytes, int64_t duration_ns) {
  if ((max_bytes_ != 0 && file_bytes >= max_bytes_) ||
      (max_time_ns_ != 0 && static_cast<uint64_t>(duration_ns) >= max_time_ns_))
    pending_ = numbered_;
}

std::vector<Leftover> find_leftovers(const LocationPattern &location,
                                     const std::string &temp_suffix, const ExistsFn &exists) {
  std::vector<Leftover> found;
  auto look_at = [&](const std::string &final_path) {
    std::string temp = temp_path_for(final_path, temp_suffix);
    const bool temp_exists = exists(temp);
    if (temp_exists)
      found.push_back({std::move(temp), final_path});
    return temp_exists;
  };
  if (!location.numbered()) {
    look_at(location.path(0));
    return found;
  }
  for (int i = 0; i < kMaxRotationIndex; ++i) {
    const std::string final_path = location.path(i);
    if (!look_at(final_path) && !exists(final_path) && i > 0)
      break;
  }
  return found;
}

int first_free_index(const LocationPattern &location, const ExistsFn &exists) {
  if (!location.numbered())
    return 0;
  int index = 0;
  while (exists(location.path(index)))
    ++index;
  return index;
}

LeftoverRecovery recover_leftover(const Leftover &leftover) {
  LeftoverRecovery r;
  r.leftover = leftover;
  r.output = recovered_path_for(leftover.final_path);
  r.report = recover_ts(leftover.temp_path, r.output);
  if (r.report.ok) {
    std::remove(leftover.temp_path.c_str());
  } else {
    r.output.clear();
    r.kept_aside = leftover.temp_path + ".unrecoverable";
    std::rename(leftover.temp_path.c_str(), r.kept_aside.c_str());
  }
  return r;
}

} // namespace keepup::ts
