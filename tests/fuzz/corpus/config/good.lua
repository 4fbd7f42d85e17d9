settings { control = "run/sluice.ctl" }
input "devlog" { type = "unix", path = "run/log.sock" }
input "tcp" { type = "tcp", listen = "127.0.0.1:0", max_message = "8K" }
input "udp" { type = "udp", listen = "127.0.0.1:0" }
local out = output "out" { type = "file", path = "logs/out.log", format = "json",
                           queue = { capacity = 100, policy = "drop" } }
output "auth" { type = "file", path = "logs/auth.log" }
route { facility = { "auth", "authpriv" }, severity = "<=warning", to = "auth", final = true }
route { to = { out } }
