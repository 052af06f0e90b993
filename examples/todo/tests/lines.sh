#!/bin/sh
# Counts the lines of the Todo application in C (todo.h, models.c,
# views.c, main.c) and in Flask (flask/app.py), without comments and blank
# lines, and prints "C N, Flask M, ratio R".  Exits 1 when the C is more
# than 2.5 times the Flask.
cd "$(dirname "$0")/.." || exit 2
c=$(cat todo.h models.c views.c main.c | sed -e 's|//.*$||' |
    awk 'BEGIN{c=0} { line=$0
          while (1) {
            if (c) { i=index(line,"*/"); if (!i) { line=""; break } line=substr(line,i+2); c=0 }
            i=index(line,"/*"); if (!i) break
            rest=substr(line,i+2); j=index(rest,"*/")
            if (j) line=substr(line,1,i-1) substr(rest,j+2); else { line=substr(line,1,i-1); c=1; break }
          }
          if (line ~ /[^ \t]/) n++ } END{print n+0}')
py=$(grep -vE '^[[:space:]]*(#|$)' flask/app.py | wc -l)
ratio=$(awk -v c="$c" -v p="$py" 'BEGIN{printf "%.2f", c/p}')
echo "C $c, Flask $py, ratio $ratio"
awk -v c="$c" -v p="$py" 'BEGIN{exit !(c <= 2.5 * p)}'
