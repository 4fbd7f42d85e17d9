settings { control = "sluice.ctl" }
output "out" { type = "file", path = "out.log" }
input "tcp" { type = "tcp", lisen = "127.0.0.1:0" }
input "tcp" { type = "tcp", listen = true }
route { to = "nosuch" }
input "x" { type = "carrier-pigeon", listen = "127.0.0.1:0" }
input "tcp" { type = "tcp", listen = "127.0.0.1" }
route { severity = "<=loud", to = "out" }
route { facility = "kitchen", to = "out" }
output "o2" { type = "file", path = "o2.log", queue = { policy = "maybe" } }
output "o2" { type = "file", path = "o2.log", fromat = "json" }
output "o2" { type = "no-such-plugin", path = "o2.log" }
output "o2" { type = "file", path = "o2.log", format = "{hostnme}" }
output "out" { type = "file", path = "again.log" }
