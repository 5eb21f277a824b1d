# shellcheck shell=bash
# Shell helpers shared by network.sh, ceph.sh and the tests: messages, logged steps, long-running
# processes in their own session tracked by PID files, ports, Prometheus metrics.
# The sourcing script sets PIDS (the PID files' directory) and may set SELF (its name in error
# lines, default network.sh), PID_SUFFIX (default .pid), STOP_GRACE (seconds between TERM and KILL,
# default 10) and STOP_CHECK=1 (stop_all fails when a process survives KILL).

say() { printf '%s\n' "$*" >&2; }
# One line naming the failed step and the log to read, then a non-zero exit.
die() { say "${SELF:-network.sh}: failed at ${1}${2:+; see $2}"; exit 1; }
# Runs a step with its output appended to a log; on failure, die with that log.
step() { # name log cmd...
  local name=$1 log=$2; shift 2
  mkdir -p "$(dirname "$log")"
  printf '\n== %s: %s\n' "$(date -Is)" "$*" >>"$log"
  "$@" >>"$log" 2>&1 || die "$name" "$log"
}

# Exports the KEY=VALUE lines of a file (such as ceph.sh's s3.env) into this shell.
load_env() { # file
  local key value
  while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && export "$key=$value"
  done <"$1"
  return 0
}

# A killed process stays in the table (state Z) until its parent reaps it, which here can take a
# moment: it counts as gone, or `up` right after a kill would skip starting it again.
pid_alive() { # name
  local f=$PIDS/$1${PID_SUFFIX:-.pid} state
  [[ -f $f ]] || return 1
  state=$(ps -o stat= -p "$(cat "$f")" 2>/dev/null) || return 1
  [[ -n $state && $state != Z* ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port log
  local i
  for i in $(seq 1 100); do
    port_open "$2" && return 0
    pid_alive "$1" || die "start $1 (process exited)" "$3"
    sleep 0.1
  done
  die "start $1 (port $2 not listening after 10 s)" "$3"
}

# Starts a long-running process in its own session so `down` can stop it and its children.
spawn() { # name log cmd... (env is the caller's)
  local name=$1 log=$2; shift 2
  mkdir -p "$PIDS" "$(dirname "$log")"
  printf '\n== %s: starting %s\n' "$(date -Is)" "$name" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name${PID_SUFFIX:-.pid}"
}

gone() { # tenths-of-seconds pid...: waits until every pid has exited
  local i pid alive tenths=$1; shift
  for ((i = 0; i < tenths; i++)); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && { alive=1; break; }; done
    ((alive)) || return 0
    sleep 0.1
  done
  return 1
}

# Stops the named processes together: TERM to each process group, up to STOP_GRACE s, then KILL.
stop_all() { # name...
  local n f pid running=()
  for n in "$@"; do
    f=$PIDS/$n${PID_SUFFIX:-.pid}
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      running+=("$pid")
    fi
    rm -f "$f"
  done
  ((${#running[@]})) || return 0
  gone $((${STOP_GRACE:-10} * 10)) "${running[@]}" && return 0
  for pid in "${running[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
  [[ ${STOP_CHECK:-0} == 1 ]] || return 0
  gone 50 "${running[@]}" || die "stop ${*} (still running after SIGKILL: ${running[*]})"
}

metric() { # port name-with-labels-regex
  local body
  body=$(curl -fsS --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null) || return 0
  awk -v re="^$2 " '$0 ~ re {print $NF; exit}' <<<"$body"
}

# Prints a template with each {{key}} replaced by VALUES[key] (VALUES: the name of an associative
# array). A line naming a key VALUES does not have is left out, and so are lines starting with ##.
render() { # template values-array-name
  local -n _render_values=$2
  local line out key
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == '##'* ]] && continue
    out=""
    while [[ $line =~ \{\{([a-z0-9_]+)\}\} ]]; do
      key=${BASH_REMATCH[1]}
      [[ -v _render_values[$key] ]] || continue 2
      out+=${line%%"{{$key}}"*}${_render_values[$key]}
      line=${line#*"{{$key}}"}
    done
    printf '%s\n' "$out$line"
  done <"$1"
}
