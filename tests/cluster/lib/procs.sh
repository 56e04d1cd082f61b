# Process and port helpers. Sourced by run.sh and ctl.sh.

# procs_alive <pid>: true while the process exists and is not a zombie.
procs_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z && ${stat:0:1} != X ]]
}

# procs_stop <pid...>: SIGTERM, up to 15 s grace, then SIGKILL; reaps the
# processes when they are children of this shell.
procs_stop() {
  local pid deadline=$((SECONDS + 15))
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    while procs_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# procs_free_port [taken...]: a TCP port in 20000-31999 (below the Linux
# ephemeral range) that nothing listens on and that is not in <taken>.
procs_free_port() {
  local port taken attempt
  for ((attempt = 0; attempt < 200; attempt++)); do
    port=$((20000 + RANDOM % 12000))
    for taken in "$@"; do [[ $port == "$taken" ]] && continue 2; done
    # A connection attempt tells whether anything listens (no iproute2 needed).
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "no free TCP port found" >&2
  return 1
}
