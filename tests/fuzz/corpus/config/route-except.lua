output "o" { type = "file", path = "o.log" }
route { facility = { except = { "auth", "authpriv" } }, severity = { except = "debug" }, to = "o" }
route { facility = { except = "auth", "x" }, to = "o" }
route { facility = "auth,authpriv", severity = { except = { "<=debug" } }, to = "o" }
