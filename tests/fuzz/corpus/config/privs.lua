settings { user = "syslog", group = 4 }
settings { user = 65534, group = "adm" }
settings { user = -1, group = { "adm" } }
settings { user = 4294967296, group = "" }
settings { user = 1.5, group = true }
