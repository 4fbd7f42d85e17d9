input "a" { type = "tcp", listen = "127.0.0.1:5514" }
input "b" { type = "tcp", listen = "127.0.0.1:5514" }
input "c" { type = "unix", path = "log.sock", mode = "0600" }
input "d" { type = "unix", path = "log.sock" }
input "e" { type = "udp", listen = "[::1]:514", rcvbuf = "1M" }
input "f" { type = "udp", listen = "[::1]:514" }
output "o" { type = "file", path = "o.log" }
route { to = "o" }
