# Helpers shared by the scripts that build pinned Go binaries into the cache
# (build-binaries.sh, build-helm.sh). Source it after setting `log_prefix`
# (the name each progress line starts with); it defines:
#   log MESSAGE...                 progress on stderr
#   elapsed START_SECONDS          "4m07s" since START_SECONDS ($SECONDS)
#   take_lock LOCK_FILE WHAT       one build at a time per cache (fd 9, flock)
#   build WHAT DIR OUT LDFLAGS PKG...   go build with a heartbeat and a timing line
# and installs an EXIT trap that stops the heartbeat.

log() { echo "$log_prefix: $*" >&2; }

elapsed() { # elapsed START_SECONDS -> "4m07s"
  local s=$((SECONDS - $1))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# One build at a time per lock file: a concurrent run waits here, then finds
# the binaries the first one built. The holder writes its pid into the file.
take_lock() { # take_lock LOCK_FILE WHAT
  local lock=$1 what=$2
  exec 9>>"$lock"
  if ! flock -n 9; then
    log "waiting for another build of $what (pid $(cat "$lock" 2>/dev/null || echo unknown))"
    flock 9
  fi
  echo $$ >"$lock"
}

# Go prints one "go: downloading" line per module (hundreds for Kubernetes):
# show a count every 100 modules instead, and everything else as it comes.
quiet_downloads() {
  awk -v p="$log_prefix" '/^go: downloading / { if (++n % 100 == 0) { printf "%s:   %d Go modules downloaded\n", p, n; fflush() } next }
       { print; fflush() }
       END { if (n % 100) printf "%s:   %d Go modules downloaded\n", p, n }' >&2
}

heartbeat_pid=
stop_heartbeat() { [[ -z $heartbeat_pid ]] || kill "$heartbeat_pid" 2>/dev/null || true; heartbeat_pid=; }
trap stop_heartbeat EXIT

build() { # build <what> <module dir> <output dir> <ldflags> <packages...>
  local what=$1 dir=$2 out=$3 ldflags=$4 start=$SECONDS
  shift 4
  log "building $what ..."
  # A short sleep, so none outlives the build by more than 5 s.
  (ticks=0; while sleep 5; do ((++ticks % 12)) || log "  still building $what ($(elapsed "$start"))"; done) 9>&- &
  heartbeat_pid=$!
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$out/" "$@" 2>&1 9>&- | quiet_downloads)
  stop_heartbeat
  log "built $what in $(elapsed "$start")"
}
