output "o" { type = "file" path = "x" }
