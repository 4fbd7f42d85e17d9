settings { control = "sluice.ctl", log_levle = "info" }
input "tcp" { type = "tcp", listen = "127.0.0.1:0", idle_timout = 5 }
output "out" { type = "file", path = "out.log", format = "{hostnme}" }
output "o2" { type = "flie", path = "o2.log" }
route { to = { "out", "o2" }, finl = true }
