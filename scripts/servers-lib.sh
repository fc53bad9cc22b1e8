# shellcheck shell=bash
# Shared settings for scripts/servers-{install,up,down} and scripts/test-all.
# Everything the real-server set writes lives under $MAILPROBE_SERVERS_DIR
# (default /tmp/mailprobe-servers); nothing global on the machine is changed.

umask 022
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPTS/.." && pwd)
TESTDATA=$REPO/testdata/integration
STATE=${MAILPROBE_SERVERS_DIR:-/tmp/mailprobe-servers}
CONF=$STATE/conf
LOGS=$STATE/log

# Address plan (see testdata/integration/README.md).
RESOLVER_ADDR=127.0.2.53
NSD_ADDR=127.0.2.54
RBLDNSD_ADDR=127.0.2.55
LMTP_ADDR=127.0.2.24
MX_ADDRS="127.0.2.25 127.0.2.26 127.0.2.27 127.0.2.28 127.0.2.29"
SILENT_ADDR=127.0.2.30
CLIENT_ADDR=127.0.2.66

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "$*"; exit 1; }

# lock_servers: hold the set's lock until this script exits, so concurrent callers of
# servers-up/servers-down (two engineers, two test runs) do not render, compare, stop and
# start the set over each other; the second waits (up to 5 minutes) and then finds the set
# running. A script the lock holder runs (servers-up calling servers-down) inherits it.
lock_servers() {
    [ -z "${MAILPROBE_SERVERS_LOCKED:-}" ] || return 0
    command -v flock >/dev/null || die "flock not found (util-linux)"
    exec 9>"$STATE.flock"
    flock -w 300 9 || die "$STATE.flock: another servers-up/servers-down still runs after 5 minutes"
    export MAILPROBE_SERVERS_LOCKED=1
}

# daemon CMD…: run CMD without the lock's descriptor. A daemon that kept fd 9 would hold
# the lock for as long as it runs, and every later caller would wait in vain. (For a command
# put in the background with &, write 9>&- on the command itself: the subshell & makes for a
# function would hold the descriptor while it waits.)
daemon() { "$@" 9>&-; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (binds port 25/53, starts Postfix and Dovecot)"
}

# running PID: the process exists and is not a zombie (an init that reaps late, as in some
# containers, leaves exited daemons as zombies for a while; they hold no sockets).
running() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ "$state" != Z ]
}

# pid_alive FILE: the pid in FILE is a running process
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(head -n1 "$1" | tr -dc 0-9)
    [ -n "$pid" ] && running "$pid"
}

# stop_pidfile NAME FILE: TERM the process in FILE, wait up to 5 s, then KILL it.
stop_pidfile() {
    local name=$1 file=$2 pid i
    pid_alive "$file" || { rm -f "$file"; return 0; }
    pid=$(head -n1 "$file" | tr -dc 0-9)
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do
        running "$pid" || break
        sleep 0.1
    done
    if running "$pid"; then
        log "$name (pid $pid) did not stop on TERM; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

# smtp_greets ADDR PORT: the server sends a 2xx greeting within 5 s
smtp_greets() {
    timeout 5 bash -c 'exec 3<>/dev/tcp/$0/$1 && IFS= read -r line <&3 && printf "QUIT\r\n" >&3 && case $line in 2*) exit 0;; *) exit 1;; esac' "$1" "$2" 2>/dev/null
}

# tcp_open ADDR PORT: something accepts TCP connections
tcp_open() {
    timeout 3 bash -c 'exec 3<>/dev/tcp/$0/$1' "$1" "$2" 2>/dev/null
}
