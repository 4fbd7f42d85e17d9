-- lua-routes.lua: routes with Lua functions (where, transform, drop).
--
-- Runs from the top of the source tree without root, like config/sluice.lua:
--
--     mkdir -p var/run var/log && core/sluiced -n -c config/examples/lua-routes.lua
--
-- A route's declarative conditions (app_name, severity, ...) are tested in C
-- first; its `where` function runs only for the messages they let through,
-- and the route takes a message when `where` returns a true value. A
-- `transform` changes only the copy its own route sends: other outputs get
-- the message as received. See ROUTE FUNCTIONS in sluice.lua(5).
--
-- Each input has its own Lua state, in which this file runs once per load:
-- globals are per input, not shared, and editing this file changes nothing
-- until `sluicectl reload`.

settings {
    control = "var/run/sluice.ctl",
    plugin_path = { "plugins" },
}

input "devlog" { type = "unix", path = "var/run/log" }
input "tcp"    { type = "tcp",  listen = "127.0.0.1:5514" }
input "udp"    { type = "udp",  listen = "127.0.0.1:5514" }

-- block_timeout: a stuck output holds the programs logging to var/run/log
-- 5 s at most (sluice.lua(5), queue).
local q = { block_timeout = "5s" }
local alerts  = output "alerts"  { type = "file", path = "var/log/alerts.log", queue = q }
local archive = output "archive" { type = "file", path = "var/log/archive.json", format = "json",
                                   queue = q }
local auth    = output "auth"    { type = "file", path = "var/log/auth.log", queue = q }

-- Warnings and worse that carry a client address (RFC 5424 structured data
-- [origin@48577 ip="..."]) go to alerts and archive, with passwords masked.
-- gsub returns two values; the assignment keeps the first. A message with no
-- text makes m.msg nil and the call fail: the error is counted (sluicectl
-- stats, "routes") and logged, and with the default on_error = "skip" this
-- route sends nothing, so an unmasked password never reaches these outputs.
local redact = function(m)
  m.msg = m.msg:gsub("password=%S+", "password=***")      -- rewrite; other outputs keep the original
end
route { where = function(m) return m.severity <= sluice.severity.warning
                            and m.sd["origin@48577"] and m.sd["origin@48577"].ip end,
        transform = redact, to = { alerts, archive } }

-- sshd and sudo, except what root sends. Lua runs for these two programs
-- only. m.uid comes from the kernel on unix inputs; on udp and tcp it is nil,
-- and nil ~= 0, so those are taken too.
route { app_name = { "sshd", "sudo" }, where = function(m) return m.uid ~= 0 end, to = auth }

-- Health checks go to no output named after this route (those chosen above
-- still get them) and count as "discarded" in sluicectl stats. Without Lua,
-- and cheaper: route { drop = true, msg_contains = "healthcheck" }
route { drop = true, where = function(m) return m.msg:find("healthcheck", 1, true) end, final = true }

-- Everything that gets this far is archived, as received.
route { to = archive }
