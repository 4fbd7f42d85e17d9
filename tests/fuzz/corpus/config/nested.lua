output "o" { type = "file", path = "x", a = { b = { c = { d = { e = { f = { g = { h = { i = 1 } } } } } } } }, [1] = 2 }
