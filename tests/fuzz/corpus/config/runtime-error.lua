output "o" { type = "file", path = "x" }
local t = nil
route { to = t.x }
