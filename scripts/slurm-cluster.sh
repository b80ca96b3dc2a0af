#!/usr/bin/env bash
# slurm-cluster.sh: a single-node Slurm cluster on a Debian machine without
# systemd, for gotrap's tests and for trying `gotrap slurm` on a workstation.
#
# Usage: scripts/slurm-cluster.sh up|down|status
#
#   up      install what is missing (apt: slurmctld slurmd slurm-client munge
#           and the PMIx library srun --mpi=pmix needs), write slurm.conf,
#           create the munge key if absent, start munged (as user munge),
#           slurmctld and slurmd, and wait until sinfo shows the node idle.
#           Running it again when the cluster is up changes nothing.
#   down    stop slurmd, slurmctld and munged by the PIDs that up recorded.
#           Nothing happens when the cluster is not up.
#   status  print whether each daemon runs, and sinfo; exit 0 when all run.
#
# It must run as root (the daemons run as root: SlurmUser=root). Settings
# come from the environment:
#
#   SLURM_CLUSTER_DIR   state, spool, logs and PID files (default /var/lib/slurm/gotrap)
#   SLURM_CLUSTER_CONF  the slurm.conf to write (default /etc/slurm/slurm.conf,
#                       where the Slurm commands look). An existing file that
#                       this script did not write is never overwritten.
#   SLURM_CLUSTER_WAIT  seconds to wait for the node to become idle (default 60)
#
# Logs: $SLURM_CLUSTER_DIR/log/{slurmctld,slurmd}.log and /var/log/munge/munged.log.
set -euo pipefail

dir=${SLURM_CLUSTER_DIR:-/var/lib/slurm/gotrap}
conf=${SLURM_CLUSTER_CONF:-/etc/slurm/slurm.conf}
wait_s=${SLURM_CLUSTER_WAIT:-60}
marker="# Written by gotrap scripts/slurm-cluster.sh"
pkgs=(slurmctld slurmd slurm-client munge libpmix2)

log() { echo "slurm-cluster: $*" >&2; }
die() { log "$*"; exit 1; }

# pid_of NAME prints the PID recorded for daemon NAME if that process lives.
pid_of() {
  local f="$dir/run/$1.pid" p
  [ -s "$f" ] || return 1
  p=$(cat "$f")
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
  # A recycled PID of another program does not count.
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$p"
}

running() { pid_of "$1" >/dev/null; }

install_missing() {
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  log "installing ${missing[*]}"
  # No init system here: keep the packages' scripts from starting daemons.
  local policy=/usr/sbin/policy-rc.d created=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ -n "$created" ]; then rm -f "$policy"; fi
}

write_conf() {
  if [ -e "$conf" ] && ! grep -qF "$marker" "$conf"; then
    die "$conf exists and was not written by this script; move it away or set SLURM_CLUSTER_CONF"
  fi
  local host node cpus_line mem real cpus
  host=$(hostname -s)
  # slurmd -C prints this machine's node line, e.g.
  # NodeName=h CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=23997
  node=$(slurmd -C | head -n1)
  [[ $node == NodeName=* ]] || die "unexpected output of slurmd -C: $node"
  mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
  # Ask for less than detected: slurmd drains a node whose memory is below
  # RealMemory, and the kernel's count moves a little between boots.
  real=$((mem * 9 / 10))
  cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
  cpus_line=$(sed -e 's/^NodeName=[^ ]* //' -e 's/ *RealMemory=[0-9]*//' <<<"$node")
  mkdir -p "$(dirname "$conf")"
  cat >"$conf.tmp" <<EOF
$marker; edit at will, "up" rewrites it.
ClusterName=gotrap
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
MpiDefault=pmix
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A job without --mem gets this much per CPU, not the whole node, so that
# small jobs run side by side.
DefMemPerCPU=$((real / cpus))
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/slurmd
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Seconds a finished job stays visible to scontrol and squeue.
MinJobAge=600
KillWait=10
NodeName=$host NodeAddr=127.0.0.1 $cpus_line RealMemory=$real State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$conf.tmp" "$conf"
  log "wrote $conf (node $host: $cpus_line RealMemory=$real of $mem MB)"
}

start_munge() {
  running munged && return
  local key=/etc/munge/munge.key
  if [ ! -s "$key" ]; then
    log "creating $key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile="$key"
    else
      dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
    fi
  fi
  chown munge:munge /etc/munge "$key"
  chmod 0700 /etc/munge
  chmod 0400 "$key"
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  chmod 0755 /run/munge
  rm -f /run/munge/munged.pid
  # munged insists on owning its log file, so it keeps Debian's default.
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid </dev/null >/dev/null 2>&1 9>&- ||
    die "munged did not start; tail of /var/log/munge/munged.log:
$(tail -n 20 /var/log/munge/munged.log 2>/dev/null)"
  cp /run/munge/munged.pid "$dir/run/munged.pid"
  munge -n | unmunge >/dev/null || die "munge does not work; see /var/log/munge/munged.log"
}

start_daemon() { # NAME
  running "$1" && return
  rm -f "$dir/run/$1.pid"
  # Daemons must not keep our stdout (a caller waits for it to close) or
  # the lock on fd 9 open.
  "/usr/sbin/$1" -f "$conf" </dev/null >>"$dir/log/$1.log" 2>&1 9>&- || die "$1 did not start; tail of $dir/log/$1.log:
$(tail -n 20 "$dir/log/$1.log" 2>/dev/null)"
  local i
  for i in $(seq 50); do
    running "$1" && return
    sleep 0.1
  done
  die "$1 wrote no PID file; tail of $dir/log/$1.log:
$(tail -n 20 "$dir/log/$1.log" 2>/dev/null)"
}

wait_idle() {
  local host state deadline
  host=$(hostname -s)
  deadline=$((SECONDS + wait_s))
  while [ $SECONDS -lt $deadline ]; do
    state=$(timeout 10 sinfo -h -N -n "$host" -o %T 2>/dev/null | head -n1 || true)
    case "$state" in
      idle | mixed | allocated) log "node $host is $state"; return ;;
      down* | drain*)
        # Left down by an earlier unclean stop: it is back now.
        scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.2
  done
  die "node $host not idle after ${wait_s}s (state '${state:-none}'); tail of slurmctld.log:
$(tail -n 20 "$dir/log/slurmctld.log" 2>/dev/null)
tail of slurmd.log:
$(tail -n 20 "$dir/log/slurmd.log" 2>/dev/null)"
}

up() {
  install_missing
  mkdir -p "$dir/ctld" "$dir/slurmd" "$dir/run" "$dir/log"
  if ! running slurmctld && ! running slurmd; then
    write_conf
  fi
  start_munge
  start_daemon slurmctld
  start_daemon slurmd
  wait_idle
  if ! srun --mpi=list 2>&1 | grep -q pmix; then
    log "warning: srun --mpi=list shows no pmix plugin:"
    srun --mpi=list >&2 || true
  fi
}

stop_daemon() { # NAME
  local p i
  p=$(pid_of "$1") || { rm -f "$dir/run/$1.pid"; return 0; }
  kill "$p" 2>/dev/null || true
  for i in $(seq 100); do
    kill -0 "$p" 2>/dev/null || { rm -f "$dir/run/$1.pid"; log "stopped $1 ($p)"; return 0; }
    sleep 0.1
  done
  log "$1 ($p) ignored SIGTERM for 10 s; killing it"
  kill -9 "$p" 2>/dev/null || true
  rm -f "$dir/run/$1.pid"
}

down() {
  [ -d "$dir/run" ] || return 0
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
}

status() {
  local rc=0 d p
  for d in munged slurmctld slurmd; do
    if p=$(pid_of "$d"); then echo "$d: running (pid $p)"; else echo "$d: stopped"; rc=1; fi
  done
  [ $rc -eq 0 ] && sinfo
  return $rc
}

[ "$(id -u)" = 0 ] || die "must run as root"
# One up or down at a time (tests of several checkouts share the cluster).
exec 9>/run/lock/gotrap-slurm-cluster.lock
flock 9
case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
