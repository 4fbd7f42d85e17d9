output "o" { type = "file", path = "o.log" }
route { facility = { ["not"] = { "auth", "authpriv" } }, severity = { ["not"] = "debug" }, to = "o" }
route { facility = { ["not"] = "auth", "x" }, to = "o" }
route { facility = "auth,authpriv", severity = { ["not"] = { "<=debug" } }, to = "o" }
