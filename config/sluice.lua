-- sluice.lua: the default configuration, for running sluiced from the source
-- tree without root:
--
--     mkdir -p var/run var/log && core/sluiced -n -c config/sluice.lua
--
-- Relative paths are relative to sluiced's working directory, here the top
-- of the tree. See sluice.lua(5) for the whole language, and config/examples/
-- for a system-wide /dev/log replacement and a network receiver.

settings {
    -- sluicectl talks to the daemon here: sluicectl -s var/run/sluice.ctl stats
    control = "var/run/sluice.ctl",
    -- The build tree's plugins/ folder holds file/.libs/file.so.
    plugin_path = { "plugins" },
}

-- Stands in for /dev/log: point a test program's syslog at it, e.g.
--     logger -u var/run/log "hello"
-- The kernel tells sluiced the sender's pid, uid and gid.
input "devlog" { type = "unix", path = "var/run/log" }

-- RFC 5424 or RFC 3164 over the network, on loopback only; TCP takes both
-- octet-counted and newline framing.
input "tcp" { type = "tcp", listen = "127.0.0.1:5514" }
input "udp" { type = "udp", listen = "127.0.0.1:5514" }

-- An output is an instance of a plugin; `output` returns a handle for `to`.
-- Each keeps a queue; when it is full (the disk is full, say) the senders
-- wait, but for 5 s at most: then the output is "stalled" and drops what it
-- cannot take, counted, until its queue is half empty again. Without the
-- bound, every program logging to var/run/log would wait as long as the
-- output is stuck (sluice.lua(5), queue).
local queue = { block_timeout = "5s" }
local messages = output "messages" {
    type = "file", path = "var/log/messages", format = "rfc3164", queue = queue,
}
local auth = output "auth" { type = "file", path = "var/log/auth.log", queue = queue }
local json = output "json" { type = "file", path = "var/log/all.json", format = "json",
                             queue = queue }

-- Routes are tried in order. Security messages go to auth.log alone:
-- `final` stops them here.
route { facility = { "auth", "authpriv" }, to = auth, final = true }

-- Everything else goes to both files.
route { to = { messages, json } }
