-- system.lua: sluiced as the machine's syslog daemon, in place of rsyslog.
--
-- Install as /etc/sluice/sluice.lua (or run sluiced -c with this file) and
-- stop rsyslog or systemd's syslog socket first: only one daemon can own
-- /dev/log. Check it with:  sluiced --check -c system.lua
--
-- The files match what Debian's rsyslog writes, so logrotate's usual
-- configuration (which sends SIGHUP or SIGUSR1 after rotating) keeps working;
-- sluiced reopens its files on SIGUSR1 or `sluicectl reopen`.

settings {
    control = "/run/sluice.ctl",
    -- Where `make install` put the plugins is searched anyway; list more here.
    -- plugin_path = { "/usr/local/lib/sluice" },
    log_level = "notice",
}

-- Local programs: glibc's syslog(3), logger(1) and friends write here.
-- Messages up to 64K; longer ones are cut and counted as truncated.
input "devlog" { type = "unix", path = "/dev/log", mode = "0666", rcvbuf = "4M" }

local syslog   = output "syslog"   { type = "file", path = "/var/log/syslog" }
local auth     = output "auth"     { type = "file", path = "/var/log/auth.log", mode = "0640" }
local kern     = output "kern"     { type = "file", path = "/var/log/kern.log" }
local mail     = output "mail"     { type = "file", path = "/var/log/mail.log" }
local messages = output "messages" { type = "file", path = "/var/log/messages" }

-- Security messages can be important enough to wait for: `block` (the
-- default) makes senders wait while the queue is full rather than lose them.
-- fdatasync after every batch, so a crash loses nothing that was written.
local secure = output "secure" {
    type = "file", path = "/var/log/secure", sync = true,
    queue = { capacity = 50000, policy = "block" },
}

route { facility = { "auth", "authpriv" }, to = { auth, secure }, final = true }
route { facility = "kern", to = kern }
route { facility = "mail", to = mail }
-- Everything not stopped by a `final` route above, as rsyslog's *.*.
route { to = syslog }
-- The classic /var/log/messages: informational and above, no mail or cron.
route { facility = { "user", "daemon", "syslog", "local0", "local1", "local2", "local3",
                     "local4", "local5", "local6", "local7" },
        severity = "<=info", to = messages }
-- Emergencies and alerts also get a file of their own, found at a glance.
route { severity = "<=alert", to = output "urgent" { type = "file", path = "/var/log/urgent" } }
