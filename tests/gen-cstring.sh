#!/bin/sh
# gen-cstring.sh NAME < file > file.c : emit `const char NAME[]` holding the input verbatim.
name=$1
printf '/* generated from data/schema.sql by tests/gen-cstring.sh; do not edit */\n'
printf 'extern const char %s[];\n' "$name"
printf 'const char %s[] =\n' "$name"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/'
printf ';\n'
