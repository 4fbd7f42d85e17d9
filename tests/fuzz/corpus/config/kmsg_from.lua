input "k" { type = "kmsg", from = "boot" }
input "j" { type = "kmsg", from = "nope" }
input "t" { type = "tcp", listen = "127.0.0.1:0", from = "now" }
output "o" { type = "file", path = "o.log" }
route { facility = "kern", to = "o" }
