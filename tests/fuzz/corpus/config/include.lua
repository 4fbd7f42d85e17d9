-- include: a glob matching nothing, a missing plain file, a bad argument,
-- and a directory (not a regular file)
include "fuzz.d-none/*.lua"
include "no-such-file-for-the-fuzzer.lua"
include(42)
include "/"
output "o" { type = "file" }
route { to = "o" }
