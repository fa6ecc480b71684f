#!/usr/bin/env bash
# The C++ formatting check, run by `npm run lint` and CI: clang-format
# --dry-run --Werror over every .cpp and .h under native/ (the core, the
# binding, the native suite and the fuzzer) against .clang-format.
#
#   scripts/lint-native.sh         check; lists each file that differs and exits 1
#   scripts/lint-native.sh --fix   format the files in place
#
# The files are formatted with clang-format 14 (Debian 12's `clang-format`,
# which scripts/setup.sh installs); other major versions may disagree on a
# few lines, so the script says which one it ran. $CLANG_FORMAT picks another
# binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null; then
  echo "lint-native: $clang_format is missing; install it with: apt-get install -y clang-format" >&2
  exit 1
fi
version=$("$clang_format" --version)
if [[ $version != *"version 14."* ]]; then
  echo "lint-native: warning: the files are formatted with clang-format 14; this is: $version" >&2
fi

mapfile -t files < <(find native -type f \( -name '*.cpp' -o -name '*.h' \) | LC_ALL=C sort)
case "${1:-}" in
  "")
    if ! "$clang_format" --dry-run --Werror "${files[@]}"; then
      echo "lint-native: the files above differ from .clang-format; fix them with: scripts/lint-native.sh --fix" >&2
      exit 1
    fi
    echo "lint-native: ${#files[@]} files formatted as .clang-format says"
    ;;
  --fix) "$clang_format" -i "${files[@]}" ;;
  *)
    echo "usage: $0 [--fix]" >&2
    exit 2
    ;;
esac
