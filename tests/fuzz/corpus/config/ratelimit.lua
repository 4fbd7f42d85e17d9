input "a" { type = "unix", path = "a.sock", ratelimit = {} }
input "b" { type = "unix", path = "b.sock", ratelimit = { interval = "500ms", burst = 1, per = "uid" } }
input "c" { type = "unix", path = "c.sock", ratelimit = { interval = 30, burst = 1000000000 } }
output "o" { type = "file", path = "o.log" }
route { to = "o" }
