#!/usr/bin/env bash
# Keelson's local stack without Docker: PostgreSQL 15, Redis 7 and Prometheus from Debian
# packages and an Apache Kafka 3.9 broker (KRaft, single node) from its Maven Central jars,
# all on 127.0.0.1 with their data under $KEELSON_STACK_DIR (default: <repo>/.stack).
#
#   stack.sh up [postgres|redis|kafka|prometheus ...]    start (installs what is missing); idempotent
#   stack.sh down [postgres|redis|kafka|prometheus ...]  stop; idempotent
#   stack.sh status                                      one line per component; exit 3 if any is down
#   stack.sh reset                                       stop everything and delete the data
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tools/stack"
DATA="${KEELSON_STACK_DIR:-$ROOT/.stack}"
PG_PORT="${KEELSON_PG_PORT:-5432}"
REDIS_PORT="${KEELSON_REDIS_PORT:-6379}"
KAFKA_PORT="${KEELSON_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KEELSON_KAFKA_CONTROLLER_PORT:-9093}"
PROM_PORT="${KEELSON_PROMETHEUS_PORT:-9090}"
PG_BIN="/usr/lib/postgresql/15/bin"
KAFKA_LIBS="$DATA/kafka/libs"
ALL=(postgres redis kafka prometheus)

say() { printf 'stack: %s\n' "$*"; }
die() { printf 'stack: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
elapsed() { printf '%d.%ds' $(( ($(now_ms) - $1) / 1000 )) $(( ($(now_ms) - $1) % 1000 / 100 )); }

# Polls a check every 0.2 s until it passes (0), gives up early (exit code 2), or the
# deadline in seconds runs out (1). This waits for a condition, never a fixed time.
await() {
  local deadline_s=$1; shift
  local until=$(( $(now_ms) + deadline_s * 1000 )) rc
  while :; do
    rc=0; "$@" >/dev/null 2>&1 || rc=$?
    (( rc == 0 )) && return 0
    (( rc == 2 )) && return 2
    (( $(now_ms) < until )) || return 1
    sleep 0.2
  done
}

pid_alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Records the daemon just started in the background ($!) in PIDFILE and waits up to DEADLINE
# seconds for READY; on failure shows the log's tail, stops what started, and exits.
await_daemon() {
  local name=$1 pidfile=$2 log=$3 deadline=$4 ready=$5 rc=0
  echo $! >"$pidfile"
  await "$deadline" "$ready" || rc=$?
  (( rc == 0 )) && return 0
  tail -15 "$log" >&2
  pid_alive "$pidfile" && kill "$(cat "$pidfile")"
  rm -f "$pidfile"
  (( rc == 2 )) && die "$name exited during startup (log: $log)"
  die "$name did not become ready within ${deadline}s (log: $log)"
}

# Stops the daemon in PIDFILE: SIGTERM, then SIGKILL if it is still there after 30 s.
stop_daemon() {
  local name=$1 pidfile=$2
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid"
    await 30 bash -c "! kill -0 $pid" || { kill -9 "$pid"; say "$name killed after 30s"; }
    say "$name stopped"
  fi
  rm -f "$pidfile"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port held by anything other than our own instance is a clear, one-line error.
ensure_port_free() {
  local port=$1 env_var=$2
  port_open "$port" || return 0
  local holder
  holder=$(ss -Hltnp "sport = :$port" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 | sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/pid \2 \1/')
  die "port $port is in use by another process (${holder:-unknown}); stop it or set $env_var"
}

# shellcheck source=../lib/debian.sh
source "$ROOT/tools/lib/debian.sh"

require_tool() { command -v "$1" >/dev/null 2>&1 || die "$1 is required ($2)"; }

# --- PostgreSQL -------------------------------------------------------------------------
pg_dir() { echo "$DATA/postgres"; }

pg_install() {
  [[ -x $PG_BIN/postgres ]] || apt_install postgresql-15 postgresql-client-15
  [[ -x $PG_BIN/postgres ]] || die "PostgreSQL 15 not found at $PG_BIN after install"
}

pg_as() { runuser -u postgres -- "$@"; }

pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; }

pg_running() { pg_as "$PG_BIN/pg_ctl" -D "$(pg_dir)/data" status >/dev/null 2>&1; }

pg_up() {
  pg_install
  local dir; dir=$(pg_dir)
  if [[ -d $dir/data ]] && pg_running; then say "postgres already up on 127.0.0.1:$PG_PORT"; return; fi
  ensure_port_free "$PG_PORT" KEELSON_PG_PORT
  local started; started=$(now_ms)
  mkdir -p "$dir"
  # PostgreSQL refuses to run as root: the postgres user owns its folder and must reach it.
  chown postgres:postgres "$dir"
  local p=$dir; while [[ $p != / ]]; do p=$(dirname "$p"); chmod o+x "$p" 2>/dev/null || true; done
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    printf 'keelson\n' > "$dir/pwfile"; chown postgres:postgres "$dir/pwfile"
    pg_as "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    rm -f "$dir/pwfile"
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 128MB
fsync = on
log_destination = 'stderr'
logging_collector = off
EOF
  fi
  pg_as "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $PG_PORT" start -w -t 30 >/dev/null \
    || { tail -5 "$dir/postgres.log" >&2; die "postgres failed to start (log: $dir/postgres.log)"; }
  await 30 pg_ready || die "postgres did not become ready (log: $dir/postgres.log)"
  # Role and database for the services (each service owns a schema in it).
  PGPASSWORD=keelson psql -qtA -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT 'CREATE ROLE keelson LOGIN CREATEDB PASSWORD ''keelson'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keelson') \gexec
SELECT 'CREATE DATABASE keelson OWNER keelson'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'keelson') \gexec
SQL
  say "postgres up on 127.0.0.1:$PG_PORT ($(elapsed "$started"))"
}

pg_down() {
  local dir; dir=$(pg_dir)
  if [[ -d $dir/data ]] && pg_running; then
    pg_as "$PG_BIN/pg_ctl" -D "$dir/data" stop -m fast -w -t 30 >/dev/null
    say "postgres stopped"
  fi
}

pg_status() {
  if [[ -d $(pg_dir)/data ]] && pg_running && pg_ready; then
    echo "postgres  up    127.0.0.1:$PG_PORT  pid $(head -1 "$(pg_dir)/data/postmaster.pid")"
  else
    echo "postgres  down"; return 1
  fi
}

# --- Redis ------------------------------------------------------------------------------
redis_dir() { echo "$DATA/redis"; }

redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }

redis_up() {
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  local dir; dir=$(redis_dir)
  if pid_alive "$dir/redis.pid"; then say "redis already up on 127.0.0.1:$REDIS_PORT"; return; fi
  ensure_port_free "$REDIS_PORT" KEELSON_REDIS_PORT
  local started; started=$(now_ms)
  mkdir -p "$dir"
  cat >"$dir/redis.conf" <<EOF
bind 127.0.0.1
port $REDIS_PORT
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
save ""
appendonly no
EOF
  redis-server "$dir/redis.conf"
  await 30 redis_ready || { tail -5 "$dir/redis.log" >&2; die "redis did not become ready (log: $dir/redis.log)"; }
  say "redis up on 127.0.0.1:$REDIS_PORT ($(elapsed "$started"))"
}

redis_down() {
  local dir; dir=$(redis_dir)
  if pid_alive "$dir/redis.pid"; then
    local pid; pid=$(cat "$dir/redis.pid")
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$pid"
    await 15 bash -c "! kill -0 $pid" || kill -9 "$pid"
    say "redis stopped"
  fi
  rm -f "$dir/redis.pid"
}

redis_status() {
  if pid_alive "$(redis_dir)/redis.pid" && redis_ready; then
    echo "redis     up    127.0.0.1:$REDIS_PORT  pid $(cat "$(redis_dir)/redis.pid")"
  else
    echo "redis     down"; return 1
  fi
}

# --- Kafka ------------------------------------------------------------------------------
kafka_dir() { echo "$DATA/kafka"; }

# Copies the jars of the version pinned in pom.xml; skipped while pom.xml is unchanged.
kafka_install() {
  require_tool java "install a JDK 17 (apt-get install openjdk-17-jre-headless)"
  local stamp="$KAFKA_LIBS/.pom.sha256" want
  want=$(sha256sum "$HERE/kafka/pom.xml" | cut -d' ' -f1)
  [[ -f $stamp && $(cat "$stamp") == "$want" ]] && return
  command -v mvn >/dev/null 2>&1 || apt_install maven
  say "fetching Kafka jars (maven)"
  rm -rf "$KAFKA_LIBS"; mkdir -p "$KAFKA_LIBS"
  mvn -B -Dstyle.color=never -f "$HERE/kafka/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$KAFKA_LIBS" >"$DATA/maven.log" 2>&1 \
    || { tail -20 "$DATA/maven.log" >&2; die "could not fetch the Kafka jars with maven (log: $DATA/maven.log)"; }
  echo "$want" >"$stamp"
}

# Kafka's own defaults (kafka-run-class.sh: a 1 GiB heap, G1, 20 ms pauses, marking from 35%
# occupancy) with 16 MiB G1 regions, as Confluent recommends for brokers: a produce request is
# one heap buffer of up to a MiB, and with the 1 MiB regions of a smaller heap every such
# buffer is a humongous allocation that starts a concurrent GC cycle.
KAFKA_JAVA_OPTS=(-Xms1g -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
  -XX:G1HeapRegionSize=16m -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true)
kafka_java() { java "${KAFKA_JAVA_OPTS[@]}" -Dlog4j.configuration="file:$HERE/kafka/log4j.properties" -Dkafka.logs.dir="$(kafka_dir)/logs" -cp "$KAFKA_LIBS/*" "$@"; }

kafka_started() {
  local dir; dir=$(kafka_dir)
  pid_alive "$dir/kafka.pid" || return 2
  grep -q 'Kafka Server started' "$dir/kafka.out" && port_open "$KAFKA_PORT"
}

kafka_up() {
  kafka_install
  local dir; dir=$(kafka_dir)
  if pid_alive "$dir/kafka.pid"; then say "kafka already up on 127.0.0.1:$KAFKA_PORT"; return; fi
  ensure_port_free "$KAFKA_PORT" KEELSON_KAFKA_PORT
  ensure_port_free "$KAFKA_CONTROLLER_PORT" KEELSON_KAFKA_CONTROLLER_PORT
  local started; started=$(now_ms)
  mkdir -p "$dir/logs" "$dir/data"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
EOF
  if [[ ! -f $dir/data/meta.properties ]]; then
    [[ -f $dir/cluster-id ]] || kafka_java kafka.tools.StorageTool random-uuid >"$dir/cluster-id"
    kafka_java kafka.tools.StorageTool format -t "$(cat "$dir/cluster-id")" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
      || { cat "$dir/format.log" >&2; die "kafka storage format failed"; }
  fi
  : >"$dir/kafka.out"
  # setsid: the broker outlives the terminal that started it, like the other daemons.
  setsid nohup java "${KAFKA_JAVA_OPTS[@]}" -Dlog4j.configuration="file:$HERE/kafka/log4j.properties" -Dkafka.logs.dir="$dir/logs" \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" >"$dir/kafka.out" 2>&1 </dev/null &
  await_daemon kafka "$dir/kafka.pid" "$dir/kafka.out" 90 kafka_started
  say "kafka up on 127.0.0.1:$KAFKA_PORT ($(elapsed "$started"))"
}

kafka_down() { stop_daemon kafka "$(kafka_dir)/kafka.pid"; }

kafka_status() {
  if kafka_started; then
    echo "kafka     up    127.0.0.1:$KAFKA_PORT  pid $(cat "$(kafka_dir)/kafka.pid")"
  else
    echo "kafka     down"; return 1
  fi
}

# --- Prometheus -------------------------------------------------------------------------
prom_dir() { echo "$DATA/prometheus"; }

# The HTTP status of METHOD PATH on the local Prometheus (bash's /dev/tcp: no curl needed).
prom_http() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$PROM_PORT" || exit 1
    printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n' "$1" "$2" >&3
    IFS=' ' read -r -t 5 _ status _ <&3 || exit 1
    echo "$status"
  )
}

prom_ready() {
  pid_alive "$(prom_dir)/prometheus.pid" || return 2
  [[ $(prom_http GET /-/ready) == 200 ]]
}

# Scrape jobs for the services at the ports `npm start` gives them (SERVICES in
# tools/dev/keelson.mjs, read from there so the two never disagree), the target files that
# tests write for services on other ports, every rule file in prometheus/ and the test rules.
prom_config() {
  local dir=$1 services
  services=$(sed -nE "s/^  \['([a-z-]+)', ([0-9]+)\],$/\1 \2/p" "$ROOT/tools/dev/keelson.mjs")
  [[ -n $services ]] || die "no services found in tools/dev/keelson.mjs (SERVICES)"
  {
    cat <<EOF
# Generated by tools/stack/stack.sh at every 'up prometheus'; edits are overwritten.
global:
  scrape_interval: 5s
  scrape_timeout: 4s
  evaluation_interval: 5s
rule_files:
  - '$ROOT/prometheus/*.rules.yml'
  # Rules that tests load (with shorter 'for:' or thresholds), then POST /-/reload.
  - '$dir/rules/*.yml'
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:$PROM_PORT']
EOF
    local name port
    while read -r name port; do
      printf "  - job_name: %s\n    static_configs:\n      - targets: ['127.0.0.1:%s']\n" "$name" "$port"
    done <<<"$services"
    cat <<EOF
  # Services on other ports (tests): JSON target groups in $dir/targets/*.json, with their
  # own 'job' label, picked up as the files change.
  - job_name: registered
    file_sd_configs:
      - files: ['$dir/targets/*.json']
EOF
  } >"$dir/prometheus.yml"
}

prom_up() {
  install_prometheus
  local dir; dir=$(prom_dir)
  mkdir -p "$dir/data" "$dir/targets" "$dir/rules"
  prom_config "$dir"
  if pid_alive "$dir/prometheus.pid"; then
    [[ $(prom_http POST /-/reload) == 200 ]] || die "prometheus did not reload $dir/prometheus.yml (log: $dir/prometheus.log)"
    say "prometheus already up on http://127.0.0.1:$PROM_PORT (configuration reloaded)"
    return
  fi
  ensure_port_free "$PROM_PORT" KEELSON_PROMETHEUS_PORT
  local started; started=$(now_ms)
  promtool check config "$dir/prometheus.yml" >"$dir/check-config.log" 2>&1 \
    || { cat "$dir/check-config.log" >&2; die "the generated prometheus configuration is invalid ($dir/prometheus.yml)"; }
  # --web.enable-lifecycle: POST /-/reload picks up new rules and config without a restart.
  setsid nohup prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --storage.tsdb.retention.time=7d --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle \
    --enable-feature=exemplar-storage >"$dir/prometheus.log" 2>&1 </dev/null &
  await_daemon prometheus "$dir/prometheus.pid" "$dir/prometheus.log" 60 prom_ready
  say "prometheus up on http://127.0.0.1:$PROM_PORT ($(elapsed "$started"))"
}

prom_down() { stop_daemon prometheus "$(prom_dir)/prometheus.pid"; }

prom_status() {
  if prom_ready; then
    echo "prometheus up    http://127.0.0.1:$PROM_PORT  pid $(cat "$(prom_dir)/prometheus.pid")"
  else
    echo "prometheus down"; return 1
  fi
}

# --- commands ---------------------------------------------------------------------------
# Checked in the main shell: a `die` inside $(...) would only end the subshell.
validate_components() {
  local c; for c in "$@"; do
    case $c in postgres|redis|kafka|prometheus) ;; *) die "unknown component '$c' (expected postgres, redis, kafka or prometheus)" ;; esac
  done
}

components() {
  if (( $# == 0 )); then printf '%s\n' "${ALL[@]}"; else printf '%s\n' "$@"; fi
}

fn() { case $1 in postgres) echo pg ;; prometheus) echo prom ;; *) echo "$1" ;; esac; }

main() {
  local cmd=${1:-}; shift || true
  validate_components "$@"
  case $cmd in
    up) for c in $(components "$@"); do "$(fn "$c")_up"; done ;;
    down) for c in $(components "$@" | tac); do "$(fn "$c")_down"; done ;;
    status)
      local rc=0 c
      for c in $(components "$@"); do "$(fn "$c")_status" || rc=3; done
      return $rc ;;
    reset)
      for c in prometheus kafka redis postgres; do "$(fn "$c")_down"; done
      local jars=""; [[ -d $KAFKA_LIBS ]] && jars=$(mktemp -d) && mv "$KAFKA_LIBS" "$jars/libs"
      rm -rf "$DATA"
      # Keep the downloaded jars: they are a cache, not state.
      if [[ -n $jars ]]; then mkdir -p "$(kafka_dir)"; mv "$jars/libs" "$KAFKA_LIBS"; rmdir "$jars"; fi
      say "data deleted ($DATA)" ;;
    *) die "usage: stack.sh up|down|status|reset [postgres|redis|kafka|prometheus ...]" ;;
  esac
}

main "$@"
