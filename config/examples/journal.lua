-- journal.lua: sluiced in journald's place for the programs that log to the
-- journal (sd_journal_send(3), python-systemd, ...), every field kept.
--
-- Journal clients always send to /run/systemd/journal/socket: on a host
-- without journald, let sluiced own that path; beside journald, bind-mount
-- this socket there for chosen programs instead (README.md, "Journal
-- clients"). Check it with:  sluiced --check -c journal.lua

settings { control = "/run/sluice/control.sock", log_level = "notice" }

-- Entries up to 4M (the native input's default; larger memfds are counted
-- as too_large). Each process may send 10000 entries per 30 s in each
-- severity class, as journald allows.
input "journal" { type = "native", path = "/run/systemd/journal/socket",
                  ratelimit = { interval = "30s", burst = 10000 } }

-- Every field, the trusted _PID, _UID, _COMM, _EXE and _CMDLINE among
-- them, under "fields" of one JSON object a line. Programs wait while
-- sluiced does not read the socket: after 5 s of a full queue it drops and
-- counts instead.
local all = output "all" { type = "file", path = "/var/log/journal.json", format = "json",
                           queue = { block_timeout = "5s" } }
-- A readable file as well, by the header fields the journal's own fields fill.
local text = output "text" { type = "file", path = "/var/log/journal.log",
                             format = "{received} {hostname} {app_name}[{fields._PID}]: {msg}",
                             queue = { block_timeout = "5s", drop_severity = "debug" } }

route { to = { all, text } }
