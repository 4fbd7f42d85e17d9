-- receiver.lua: a central log host taking messages from other machines.
--
-- Senders' rsyslog:  *.* @@loghost:514   (TCP)   or   *.* @loghost:514 (UDP)
-- Binding port 514 needs root or CAP_NET_BIND_SERVICE; 5514 does not.

settings {
    control = "/run/sluice/control.sock",
    -- Names this host in messages that arrive without one.
    hostname = "loghost",
}

-- Every address, IPv4 and IPv6. `idle_timeout` closes TCP connections that
-- have sent nothing for ten minutes; `max_message` cuts overlong messages.
input "tcp"  { type = "tcp", listen = "0.0.0.0:514", max_message = "64K", idle_timeout = 600 }
input "tcp6" { type = "tcp", listen = "[::]:514", max_message = "64K", idle_timeout = 600 }
-- A datagram socket cannot be paused, so give the kernel room for bursts;
-- what it still drops shows as kernel_drops in `sluicectl stats`.
input "udp"  { type = "udp", listen = "0.0.0.0:514", rcvbuf = "8M" }

-- One line per message, with the sender's host first, from a template; the
-- fields are listed in sluice.lua(5).
local remote = output "remote" {
    type = "file", path = "/var/log/remote/all.log",
    format = "{received} {hostname} {app_name}[{procid}] <{facility}.{severity}> {msg}",
    -- A slow disk must never slow the senders down: drop what does not fit
    -- and count it (sluicectl stats shows "dropped" per output).
    queue = { capacity = 100000, bytes = "64M", policy = "drop" },
}

-- The same in JSON for a log shipper, also dropping rather than blocking.
local json = output "json" {
    type = "file", path = "/var/log/remote/all.json", format = "json",
    queue = { capacity = 100000, policy = "drop" },
}

-- Errors and worse from the web servers, as received, for the on-call pager.
local alerts = output "alerts" {
    type = "file", path = "/var/log/remote/web-errors.log", format = "raw", sync = true,
}

route { hostname = { "web1", "web2", "web3" }, severity = "<=err", to = alerts }
route { input = { "tcp", "tcp6", "udp" }, to = { remote, json } }
