-- /etc/sluice/sluice.lua: sluiced as the machine's system logger, doing
-- what Debian 12's default /etc/rsyslog.conf does. `make install` puts it
-- in $(sysconfdir)/sluice/ when none is there, and never overwrites an
-- edited one (the new one goes beside it as sluice.lua.dist).
--
-- Only one daemon can own /dev/log: stop rsyslog first
-- (systemctl disable --now rsyslog), then check this file with
--     sluiced --check
-- See sluice.lua(5) for the language, and $(docdir)/examples/ (by default
-- /usr/local/share/doc/sluice/examples/; config/examples/ in the source
-- tree) for more.

settings {
    -- sluicectl finds the daemon here without -s; /run/sluice/ is created.
    control = "/run/sluice/control.sock",
    -- The plugins are found where `make install` put them ($(pkglibdir));
    -- list more directories here.
    -- plugin_path = { "/usr/local/lib/sluice-extra" },
    log_level = "notice",
}

-- rsyslog's imuxsock: local programs (syslog(3), logger(1)) write here.
-- The kernel tells sluiced the sender's pid, uid and gid. Under systemd,
-- /dev/log is a symlink to journald's socket, which sluiced never follows
-- nor removes: there, journald forwards to /run/systemd/journal/syslog
-- (ForwardToSyslog=yes), where rsyslog listened: use that path instead.
input "devlog" { type = "unix", path = "/dev/log", mode = "0666" }

-- rsyslog's imklog: the kernel's own log, from /dev/kmsg (root or
-- CAP_SYSLOG). From boot it reads what the kernel logged since boot;
-- restarted later, only what comes after.
input "kernel" { type = "kmsg" }

-- Every output below is fed by /dev/log, so it bounds how long it may hold
-- the machine's programs: a program calling syslog(3) waits while sluiced
-- does not read /dev/log, and sluiced stops reading while an output's queue
-- is full (a full disk, say). After 5 s the output drops what it cannot
-- take, counted (sluicectl stats), until its queue is half empty again.
local bounded = { block_timeout = "5s" }

-- rsyslog's $FileOwner root, $FileGroup adm, $FileCreateMode 0640, and its
-- line format (format = "rsyslog": its RSYSLOG_FileFormat). As rsyslog does,
-- no fsync per line (a "-" before the path, or none, is the same today).
local function logfile(name, path)
    return output(name) {
        type = "file", path = path, format = "rsyslog",
        owner = "root", group = "adm", mode = "0640", queue = bounded,
        -- Debian rotates these with logrotate (/etc/logrotate.d/rsyslog
        -- sends SIGHUP afterwards, which reopens every file: that keeps
        -- working). To have sluiced rotate them itself instead, weekly,
        -- 4 old files kept, compressed (then drop the logrotate rule):
        -- rotate = { every = "week", keep = 4, compress = "zstd" },
    }
end

local syslog = logfile("syslog", "/var/log/syslog")
local auth   = logfile("auth",   "/var/log/auth.log")
local cron   = logfile("cron",   "/var/log/cron.log")
local kern   = logfile("kern",   "/var/log/kern.log")
local mail   = logfile("mail",   "/var/log/mail.log")
local user   = logfile("user",   "/var/log/user.log")

-- Everything, compressed by day into one zstd stream (zstdcat reads it
-- while it is written): not in Debian's rsyslog.conf, shown for the taking.
-- Uncomment it and add `archive` to the last route's `to`.
-- local archive = output "archive" {
--     type = "archive", path = "/var/log/archive/{date}.zst", format = "rsyslog",
--     owner = "root", group = "adm", mode = "0640", queue = bounded,
-- }

-- rsyslog's *.emerg :omusrmsg:*  emergencies written to the terminal of
-- every logged-in user (utmp), with rsyslog's "Message from syslogd@"
-- banner. A terminal that would block is skipped, never waited for; the
-- queue is bounded all the same, as every output /dev/log feeds.
local wall = output "wall" { type = "users", queue = bounded }

-- Routes are tried in order; each output takes a message once.
-- *.emerg  :omusrmsg:*  first, so that no route's `final` hides an
-- emergency from it (rsyslog's line has no stop before it).
route { severity = "emerg", to = wall }
-- auth,authpriv.*  /var/log/auth.log -- and `final`: no further route sees
-- them, which is the "auth,authpriv.none" of the syslog line below.
route { facility = { "auth", "authpriv" }, to = auth, final = true }
-- cron.*, kern.*, mail.*, user.*: each to its file, and on to syslog.
route { facility = "cron", to = cron }
route { facility = "kern", to = kern }
route { facility = "mail", to = mail }
route { facility = "user", to = user }
-- *.*;auth,authpriv.none  /var/log/syslog: everything the auth route let
-- through.
route { to = syslog }
