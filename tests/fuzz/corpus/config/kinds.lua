input "u" { type = "unix", path = "a.sock", mode = 644, idle_timeout = 5 }
input "t" { type = "tcp", listen = "h:1", max_connections = 0, max_message = "65M" }
input "x" { type = "udp", path = "p", listen = 5 }
input "y" { type = "tpc" }
input "z" { listen = "h:1" }
input "w" { type = "udp", listen = "h:2", lisen = "h:3" }
