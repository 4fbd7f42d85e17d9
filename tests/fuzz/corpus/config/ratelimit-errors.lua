input "a" { type = "unix", path = "a.sock", ratelimit = { intreval = "1s", per = "pdi" } }
input "b" { type = "unix", path = "b.sock", ratelimit = { interval = "30 s", burst = 0 } }
input "c" { type = "unix", path = "c.sock", ratelimit = { interval = true, burst = 1.5, 5 } }
input "d" { type = "unix", path = "d.sock", ratelimit = 10 }
input "t" { type = "tcp", listen = "h:1", ratelimit = { per = "x" } }
input "e" { type = "unix", path = "e.sock", ratelimit = { interval = "9223372036854775807s" } }
