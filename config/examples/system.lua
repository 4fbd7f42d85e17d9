-- system.lua: sluiced as the machine's syslog daemon, in place of rsyslog.
--
-- Install as /etc/sluice/sluice.lua (or run sluiced -c with this file) and
-- stop rsyslog or systemd's syslog socket first: only one daemon can own
-- /dev/log. Check it with:  sluiced --check -c system.lua
--
-- The files match what Debian's rsyslog writes (format = "rsyslog", created
-- 0640 root:adm as its FileOwner/FileGroup/FileCreateMode say), and sluiced
-- rotates them itself: no logrotate rule is needed. An existing logrotate
-- rule for rsyslog keeps working too (it sends SIGHUP, which reopens every
-- file). Old files are compressed in the background (NAME.1.zst ...), and a
-- compressed archive of everything keeps a year of history by day.

settings {
    control = "/run/sluice/control.sock",
    -- Where `make install` put the plugins is searched anyway; list more here.
    -- plugin_path = { "/usr/local/lib/sluice" },
    log_level = "notice",
}

-- Local programs: glibc's syslog(3), logger(1) and friends write here.
-- Messages up to 64K; longer ones are cut and counted as truncated.
-- Each process may send 10000 messages per 30 s in each severity class
-- (journald's limits), so a program stuck in a loop cannot fill the disk
-- or drown the others: the rest are dropped, counted as `suppressed` in
-- sluicectl stats, and logged once per process and 30 s.
input "devlog" { type = "unix", path = "/dev/log", mode = "0666", rcvbuf = "4M",
                 ratelimit = { interval = "30s", burst = 10000, per = "pid" } }

-- The kernel's log, as rsyslog's imklog reads it (kern.log below). At boot
-- it reads what the kernel logged since boot; restarted later, only what
-- comes after (from = "auto"). Needs root or CAP_SYSLOG.
input "kernel" { type = "kmsg" }

-- Every output fed by /dev/log bounds how long it may hold the machine's
-- programs: a program calling syslog(3) waits in the kernel while sluiced
-- does not read /dev/log, and sluiced stops reading when an output's queue
-- is full (a full disk, say). After 5 s the output is "stalled": it drops
-- what it cannot take, counted (dropped_timeout, and a log line every 10 s),
-- until its queue is half empty, and the programs carry on. The debug lines
-- go first: past 80% of the queue they are dropped to keep room for the rest.
local bounded = { block_timeout = "5s", drop_severity = "debug", high_water = 0.8 }

-- What every system log file shares: Debian's owner, group and mode, the
-- format of its rsyslog, and rotation (weekly or at 256M, 4 old files
-- compressed), as /etc/logrotate.d/rsyslog does.
local function logfile(name, path, extra)
    local t = { type = "file", path = path, format = "rsyslog",
                owner = "root", group = "adm", mode = "0640", queue = bounded,
                rotate = { every = "week", size = "256M", keep = 4, compress = "zstd" } }
    for k, v in pairs(extra or {}) do t[k] = v end
    return output(name)(t)
end

local syslog   = logfile("syslog",   "/var/log/syslog",
                         { rotate = { every = "day", size = "256M", keep = 7, compress = "zstd" } })
local auth     = logfile("auth",     "/var/log/auth.log")
local kern     = logfile("kern",     "/var/log/kern.log")
local mail     = logfile("mail",     "/var/log/mail.log")
local messages = logfile("messages", "/var/log/messages")

-- Everything, compressed by day (one zstd frame a second; zstdcat reads it),
-- kept as long as the disk allows: delete old days with find -mtime.
local archive = output "archive" {
    type = "archive", path = "/var/log/archive/{date}.zst", format = "rsyslog",
    owner = "root", group = "adm", mode = "0640", queue = bounded,
}

-- One file per program and process, for the programs that log a lot:
-- /var/log/apps/nginx/812.log (names from messages are encoded so that no
-- sender can name a file outside /var/log/apps).
local apps = output "apps" {
    type = "perproc", dir = "/var/log/apps", name = "{app_name}/{pid}.log",
    format = "rsyslog", owner = "root", group = "adm", mode = "0640",
    max_open = 256, idle_close = "5m", rotate = { size = "64M", keep = 2 }, queue = bounded,
}

-- Security messages can be important enough to wait for: a larger queue,
-- and senders wait up to 30 s while it is full rather than lose them.
-- fdatasync after every batch, so a crash loses nothing that was written.
local secure = logfile("secure", "/var/log/secure", {
    sync = "batch", queue = { capacity = 50000, policy = "block", block_timeout = "30s" },
})

-- Everything goes to the archive first (not final: the routes below still
-- see it).
route { to = archive }
route { facility = { "auth", "authpriv" }, to = { auth, secure }, final = true }
route { facility = "kern", to = kern }
route { facility = "mail", to = mail }
route { facility = { "local0", "local1", "local2", "local3", "local4", "local5",
                     "local6", "local7" }, to = apps }
-- Everything not stopped by a `final` route above, as rsyslog's *.*.
route { to = syslog }
-- The classic /var/log/messages: informational and above, no mail or cron.
route { facility = { "user", "daemon", "syslog", "local0", "local1", "local2", "local3",
                     "local4", "local5", "local6", "local7" },
        severity = "<=info", to = messages }
-- Emergencies and alerts also get a file of their own, found at a glance.
route { severity = "<=alert", to = logfile("urgent", "/var/log/urgent") }
