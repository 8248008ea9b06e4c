#!/bin/busybox sh
# /init of the qemu kernel suite's initramfs (buildInitramfs in agent/test/qemu/vm.ts packs it): mounts the kernel's
# filesystems, loads the modules the scenarios need, builds two network namespaces joined by a veth pair, runs
# flowlens-vm-scenarios (its FLVM lines go to the serial console) and powers the VM off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Everything from here on runs in one node's cgroup, the loader's scope (--cgroup /sys/fs/cgroup/node, vm.ts): the
# scoped programs (scope.bpf.h: cgroup->ancestors[] read with CO-RE) are proven on Debian's kernels too.
mkdir /sys/fs/cgroup/node && echo $$ >/sys/fs/cgroup/node/cgroup.procs || echo "FLVM error setup node cgroup failed"
echo 1 >/proc/sys/kernel/printk
echo "FLVM kernel $(uname -r)"
echo "FLVM uptime boot $(cut -d" " -f1 /proc/uptime)"

# modules.order lists the .ko files in dependency order (computed on the host from each module's depends=)
while read -r m; do
  insmod "/modules/$m" || echo "FLVM error setup insmod $m failed"
done </modules.order

ip() { /usr/local/sbin/ip "$@" || echo "FLVM error setup ip $* failed"; }
ip link set lo up
ip netns add c
ip netns add s
# the pair is made in the initial namespace so ethtool can switch segmentation offloads off before it moves: the
# loss injector then drops single segments (3% of ~1,400) rather than 64 KB super-packets (3% of ~30)
ip link add vc type veth peer name vs
/usr/local/sbin/ethtool -K vc tso off gso off gro off || echo "FLVM error setup ethtool vc failed"
/usr/local/sbin/ethtool -K vs tso off gso off gro off || echo "FLVM error setup ethtool vs failed"
ip link set vc netns c
ip link set vs netns s
ip -n c link set lo up
ip -n s link set lo up
ip -n c addr add 10.77.0.1/24 dev vc
ip -n s addr add 10.77.0.2/24 dev vs
ip -n c -6 addr add fd77::1/64 dev vc nodad
ip -n s -6 addr add fd77::2/64 dev vs nodad
ip -n c link set vc up
ip -n s link set vs up
ip -n c route add 10.96.0.0/16 dev vc  # Service addresses (the dnat scenario translates them)

/bin/flowlens-vm-scenarios --client-ns /run/netns/c --server-ns /run/netns/s --server-dev vs \
  --lossy /bin/flowlens-lossy --lossy-object /lossy.bpf.o $(cat /scenario-args 2>/dev/null) \
  -- $(cat /loader-args)
echo "FLVM finished $? $(cut -d" " -f1 /proc/uptime)"
sync
# The emulated UART sends what the tty has buffered at about 11 KB/s, and `poweroff -f` does not wait for it: the
# last lines (a scenario's truth, FLVM finished) were cut off once the output grew. Let the buffer drain first.
sleep 3
poweroff -f
