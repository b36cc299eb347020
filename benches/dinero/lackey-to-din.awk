# Turns a valgrind lackey log (--trace-mem=yes) into DineroIV's "din"
# input (-informat d): one "LABEL ADDRESS" line per access, where LABEL is
# 0 for a data read, 1 for a data write and 2 for an instruction fetch, and
# ADDRESS is hexadecimal without 0x, as lackey already writes it.
#
#   awk -f lackey-to-din.awk ls.lackey.txt > ls.din
#
# A lackey "M" (modify) is a read and then a write of the same address.
# Valgrind's own "==PID==" lines, and anything else, are skipped.

function address(field) { return substr(field, 1, index(field, ",") - 1) }

$1 == "I" { print "2", address($2); next }
$1 == "L" { print "0", address($2); next }
$1 == "S" { print "1", address($2); next }
$1 == "M" { print "0", address($2); print "1", address($2); next }
