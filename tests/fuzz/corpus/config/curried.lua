input "a"
output "b"
local h = output "c" { type = "file", path = "c" }
route { to = { h, "b", h } }
route { drop = true, on_error = "pas" }
