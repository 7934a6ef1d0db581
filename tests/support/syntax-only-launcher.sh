#!/bin/sh
# Compiler launcher (CXX_COMPILER_LAUNCHER) for checks that need only the compiler's front end: it
# runs the compile command with -fsyntax-only, which writes the dependency file but no object, and
# then leaves an empty object at the -o path so that the build tool sees its output.
out=
prev=
for arg in "$@"; do
  [ "$prev" = "-o" ] && out=$arg
  prev=$arg
done
"$@" -fsyntax-only || exit $?
if [ -n "$out" ]; then
  : > "$out"
fi
