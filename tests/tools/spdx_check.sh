#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fails when a source file (C++, Python, shell, CMake, meson, Makefile) lacks the SPDX line
# `SPDX-License-Identifier: LGPL-2.1-or-later` in its first three lines.
#   bash tests/tools/spdx_check.sh [SOURCE_DIR]
set -euo pipefail
cd "${1:-.}"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files --cached --others --exclude-standard)
else
  mapfile -t files < <(find . -path ./build -prune -o -type f -print | sed 's|^\./||')
fi
missing=0
checked=0
for f in "${files[@]}"; do
  case "$f" in
  build*/* | */corpus/*) continue ;;
  *.cpp | *.hpp | *.hpp.in | *.py | *.sh | *.cmake | CMakeLists.txt | */CMakeLists.txt | \
    meson.build | */meson.build | Makefile | .ci/*) ;;
  *) continue ;;
  esac
  [ -f "$f" ] || continue
  checked=$((checked + 1))
  if ! head -n 3 "$f" | grep -q 'SPDX-License-Identifier: LGPL-2.1-or-later'; then
    echo "no SPDX line: $f"
    missing=$((missing + 1))
  fi
done
echo "checked $checked source files, $missing without the SPDX line"
[ "$checked" -gt 0 ] && [ "$missing" = 0 ]
