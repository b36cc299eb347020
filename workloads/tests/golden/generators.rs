// The pinned output of every generator (seed 1, default parameters).
// Regenerate by running `cargo test -p workloads --test generators` and
// pasting what `default_output_is_pinned` prints, after checking the diff.

const GOLDEN: [Golden; 11] = [
    Golden {
        name: "fork-exit",
        head: r#"# cowsim gen fork-exit --seed 1 --param rounds=2000 --param pages=64 --param writes=1
# fork-exit: fork, the child exits at once, the parent writes (a shell's loop): chain maintenance
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"256K"}
{"op":"write","task":1,"addr":"0x10000000","len":"256K"}
{"op":"fork","parent":1,"child":2}
{"op":"exit","task":2}
{"op":"write","task":1,"addr":"0x10036000","len":"4K"}
{"op":"fork","parent":1,"child":3}
{"op":"exit","task":3}
{"op":"write","task":1,"addr":"0x10008000","len":"4K"}
{"op":"fork","parent":1,"child":4}
{"op":"exit","task":4}
{"op":"write","task":1,"addr":"0x1001e000","len":"4K"}
{"op":"fork","parent":1,"child":5}
{"op":"exit","task":5}
{"op":"write","task":1,"addr":"0x1002e000","len":"4K"}
{"op":"fork","parent":1,"child":6}
{"op":"exit","task":6}
"#,
        lines: 6007,
        fnv: 0x342f8f8bc50e1384,
    },
    Golden {
        name: "live-children",
        head: r#"# cowsim gen live-children --seed 1 --param generations=8 --param children=64 --param pages=64 --param writes=4 --param child_writes=1
# live-children: children stay alive while the parent keeps writing: chain depth that is needed
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"256K"}
{"op":"write","task":1,"addr":"0x10000000","len":"256K"}
{"op":"mark","label":"generation 0"}
{"op":"fork","parent":1,"child":2}
{"op":"write","task":1,"addr":"0x10036000","len":"4K"}
{"op":"write","task":1,"addr":"0x10008000","len":"4K"}
{"op":"write","task":1,"addr":"0x1001e000","len":"4K"}
{"op":"write","task":1,"addr":"0x1002e000","len":"4K"}
{"op":"write","task":2,"addr":"0x10017000","len":"4K"}
{"op":"fork","parent":1,"child":3}
{"op":"write","task":1,"addr":"0x10023000","len":"4K"}
{"op":"write","task":1,"addr":"0x10019000","len":"4K"}
{"op":"write","task":1,"addr":"0x1002f000","len":"4K"}
{"op":"write","task":1,"addr":"0x1000a000","len":"4K"}
{"op":"write","task":3,"addr":"0x1001a000","len":"4K"}
{"op":"fork","parent":1,"child":4}
"#,
        lines: 4143,
        fnv: 0x9da361eb96bb68ea,
    },
    Golden {
        name: "stranding",
        head: r#"# cowsim gen stranding --seed 1 --param rounds=1000 --param pages=64 --param writes=1 --param child_reads=1 --param lifetime=0
# stranding: fork, the parent writes, then the child exits: GNU Mach strands ref-1 objects mid-chain
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"256K"}
{"op":"write","task":1,"addr":"0x10000000","len":"256K"}
{"op":"fork","parent":1,"child":2}
{"op":"write","task":1,"addr":"0x10036000","len":"4K"}
{"op":"read","task":2,"addr":"0x10008000","len":"4K"}
{"op":"exit","task":2}
{"op":"fork","parent":1,"child":3}
{"op":"write","task":1,"addr":"0x1001e000","len":"4K"}
{"op":"read","task":3,"addr":"0x1002e000","len":"4K"}
{"op":"exit","task":3}
{"op":"fork","parent":1,"child":4}
{"op":"write","task":1,"addr":"0x10017000","len":"4K"}
{"op":"read","task":4,"addr":"0x10023000","len":"4K"}
{"op":"exit","task":4}
{"op":"fork","parent":1,"child":5}
{"op":"write","task":1,"addr":"0x10019000","len":"4K"}
"#,
        lines: 4007,
        fnv: 0xa7449272d560ed07,
    },
    Golden {
        name: "bgsave",
        head: r#"# cowsim gen bgsave --seed 1 --param pages=4096 --param snapshots=2 --param writes=2000 --param skew=0.8 --param chunk=16
# bgsave: Redis BGSAVE: the child reads the whole heap while the parent writes a skewed subset
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"16M"}
{"op":"write","task":1,"addr":"0x10000000","len":"64K"}
{"op":"write","task":1,"addr":"0x10010000","len":"64K"}
{"op":"write","task":1,"addr":"0x10020000","len":"64K"}
{"op":"write","task":1,"addr":"0x10030000","len":"64K"}
{"op":"write","task":1,"addr":"0x10040000","len":"64K"}
{"op":"write","task":1,"addr":"0x10050000","len":"64K"}
{"op":"write","task":1,"addr":"0x10060000","len":"64K"}
{"op":"write","task":1,"addr":"0x10070000","len":"64K"}
{"op":"write","task":1,"addr":"0x10080000","len":"64K"}
{"op":"write","task":1,"addr":"0x10090000","len":"64K"}
{"op":"write","task":1,"addr":"0x100a0000","len":"64K"}
{"op":"write","task":1,"addr":"0x100b0000","len":"64K"}
{"op":"write","task":1,"addr":"0x100c0000","len":"64K"}
{"op":"write","task":1,"addr":"0x100d0000","len":"64K"}
{"op":"write","task":1,"addr":"0x100e0000","len":"64K"}
"#,
        lines: 5294,
        fnv: 0xc7b54806fe917fb4,
    },
    Golden {
        name: "zygote",
        head: r#"# cowsim gen zygote --seed 1 --param children=64 --param concurrent=8 --param code=512 --param data=128 --param heap=1024 --param write_fraction=0.1 --param code_fraction=0.25
# zygote: one preloaded parent forks many children, each writing a fraction: sharing that pays
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_map","task":1,"addr":"0x700000000000","size":"2M","file":"boot.oat","offset":"0x0","private":true,"prot":"rx"}
{"op":"exec_fetch","task":1,"addr":"0x700000000000","len":"2M"}
{"op":"vm_map","task":1,"addr":"0x710000000000","size":"512K","file":"boot.art","offset":"0x0","private":true,"prot":"rw"}
{"op":"write","task":1,"addr":"0x710000000000","len":"512K"}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"4M"}
{"op":"write","task":1,"addr":"0x10000000","len":"4M"}
{"op":"fork","parent":1,"child":2}
{"op":"fork","parent":1,"child":3}
{"op":"fork","parent":1,"child":4}
{"op":"fork","parent":1,"child":5}
{"op":"fork","parent":1,"child":6}
{"op":"fork","parent":1,"child":7}
{"op":"fork","parent":1,"child":8}
{"op":"fork","parent":1,"child":9}
{"op":"exec_fetch","task":8,"addr":"0x7000000f0000","len":"4K"}
{"op":"exec_fetch","task":7,"addr":"0x70000011d000","len":"4K"}
"#,
        lines: 22219,
        fnv: 0xd958a04fb40ab0a9,
    },
    Golden {
        name: "shell",
        head: r#"# cowsim gen shell --seed 1 --param pipelines=500 --param stages=3 --param heap=256 --param writes=4 --param work=16
# shell: a shell running pipelines: fork + exec + a little work + exit, the copies fork wastes
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_map","task":1,"addr":"0x400000","size":"1M","file":"/bin/sh","offset":"0x0","private":true,"prot":"rx"}
{"op":"exec_fetch","task":1,"addr":"0x400000","len":"256K"}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"1M"}
{"op":"write","task":1,"addr":"0x10000000","len":"1M"}
{"op":"fork","parent":1,"child":2}
{"op":"write","task":2,"addr":"0x100db000","len":"4K"}
{"op":"exec","task":2}
{"op":"vm_map","task":2,"addr":"0x400000","size":"188K","file":"/usr/bin/grep","offset":"0x0","private":true,"prot":"rx"}
{"op":"exec_fetch","task":2,"addr":"0x414000","len":"16K"}
{"op":"vm_allocate","task":2,"addr":"0x20000000","size":"64K"}
{"op":"write","task":2,"addr":"0x20000000","len":"64K"}
{"op":"read","task":2,"addr":"0x20000000","len":"64K"}
{"op":"write","task":1,"addr":"0x100b9000","len":"4K"}
{"op":"fork","parent":1,"child":3}
{"op":"write","task":3,"addr":"0x1005e000","len":"4K"}
{"op":"exec","task":3}
"#,
        lines: 17009,
        fnv: 0xe73f1d833937b5eb,
    },
    Golden {
        name: "build",
        head: r#"# cowsim gen build --seed 1 --param jobs=200 --param parallel=4 --param make_heap=512 --param cc1_heap=256 --param cc1_steps=40
# build: make -j: a process tree (make, sh, cc, cc1, as) with varied lifetimes and shared headers
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_map","task":1,"addr":"0x400000","size":"256K","file":"/usr/bin/make","offset":"0x0","private":true,"prot":"rx"}
{"op":"exec_fetch","task":1,"addr":"0x400000","len":"256K"}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"2M"}
{"op":"write","task":1,"addr":"0x10000000","len":"2M"}
{"op":"write","task":1,"addr":"0x10000000","len":"4K"}
{"op":"fork","parent":1,"child":2}
{"op":"write","task":2,"addr":"0x10000000","len":"4K"}
{"op":"exec","task":2}
{"op":"vm_map","task":2,"addr":"0x400000","size":"1M","file":"/bin/sh","offset":"0x0","private":true,"prot":"rx"}
{"op":"exec_fetch","task":2,"addr":"0x400000","len":"32K"}
{"op":"vm_allocate","task":2,"addr":"0x10000000","size":"128K"}
{"op":"write","task":2,"addr":"0x10000000","len":"128K"}
{"op":"write","task":1,"addr":"0x10001000","len":"4K"}
{"op":"fork","parent":1,"child":3}
{"op":"write","task":3,"addr":"0x10000000","len":"4K"}
{"op":"exec","task":3}
"#,
        lines: 21743,
        fnv: 0x7a69b4cbb6581064,
    },
    Golden {
        name: "mach-ipc",
        head: r#"# cowsim gen mach-ipc --seed 1 --param messages=2000 --param clients=4 --param buffer=8 --param region=64
# mach-ipc: Mach IPC: vm_copy of buffers between regions, vm_read and vm_write between tasks
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"256K"}
{"op":"write","task":1,"addr":"0x10000000","len":"256K"}
{"op":"vm_allocate","task":1,"addr":"0x20000000","size":"256K"}
{"op":"write","task":1,"addr":"0x20000000","len":"256K"}
{"op":"task_create","task":2}
{"op":"vm_allocate","task":2,"addr":"0x10000000","size":"256K"}
{"op":"write","task":2,"addr":"0x10000000","len":"256K"}
{"op":"vm_allocate","task":2,"addr":"0x20000000","size":"256K"}
{"op":"write","task":2,"addr":"0x20000000","len":"256K"}
{"op":"vm_allocate","task":2,"addr":"0x30000000","size":"256K"}
{"op":"write","task":2,"addr":"0x30000000","len":"256K"}
{"op":"task_create","task":3}
{"op":"vm_allocate","task":3,"addr":"0x10000000","size":"256K"}
{"op":"write","task":3,"addr":"0x10000000","len":"256K"}
{"op":"vm_allocate","task":3,"addr":"0x20000000","size":"256K"}
{"op":"write","task":3,"addr":"0x20000000","len":"256K"}
"#,
        lines: 18518,
        fnv: 0xf9793ec2b35ba087,
    },
    Golden {
        name: "random",
        head: r#"# cowsim gen random --seed 1 --param ops=5000 --param tasks=8 --param pages=32 --param errors=0.05
# random: a random mix of every op, error cases included: stress for the oracle
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"128K"}
{"op":"write","task":1,"addr":"0x1001b000","len":"8K"}
{"op":"exec_fetch","task":1,"addr":"0x10011000","len":"16K"}
{"op":"vm_inherit","task":1,"addr":"0x10002000","size":"4K","inherit":"copy"}
{"op":"exec_fetch","task":1,"addr":"0x10019000","len":"28K"}
{"op":"vm_allocate","task":1,"addr":"0x10011000","size":"24K"}
{"op":"fork","parent":1,"child":2}
{"op":"fork","parent":2,"child":3}
{"op":"task_create","task":4}
{"op":"vm_allocate","task":4,"addr":"0x10000000","size":"128K"}
{"op":"write","task":4,"addr":"0x10019000","len":"16K"}
{"op":"vm_map","task":4,"addr":"0x10014000","size":"16K","file":"libc.so.6","offset":"0x1000","private":true,"prot":""}
{"op":"write","task":3,"addr":"0x10001000","len":"20K"}
{"op":"read","task":3,"addr":"0x10001000","len":"28K"}
{"op":"vm_deallocate","task":1,"addr":"0x10012000","size":"12K"}
{"op":"read","task":1,"addr":"0x10001000","len":"8K"}
"#,
        lines: 5472,
        fnv: 0xe03fba52b3b59d7e,
    },
    Golden {
        name: "fork-chain",
        head: r#"# cowsim gen fork-chain --seed 1 --param generations=64 --param pages=16 --param writes=1
# fork-chain: each process forks its successor and exits, generation after generation: Linux's anon_vma chains
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"64K"}
{"op":"write","task":1,"addr":"0x10000000","len":"64K"}
{"op":"fork","parent":1,"child":2}
{"op":"write","task":2,"addr":"0x1000d000","len":"4K"}
{"op":"exit","task":1}
{"op":"fork","parent":2,"child":3}
{"op":"write","task":3,"addr":"0x10002000","len":"4K"}
{"op":"exit","task":2}
{"op":"fork","parent":3,"child":4}
{"op":"write","task":4,"addr":"0x10007000","len":"4K"}
{"op":"exit","task":3}
{"op":"fork","parent":4,"child":5}
{"op":"write","task":5,"addr":"0x1000b000","len":"4K"}
{"op":"exit","task":4}
{"op":"fork","parent":5,"child":6}
{"op":"write","task":6,"addr":"0x10005000","len":"4K"}
"#,
        lines: 199,
        fnv: 0x1d390dfc4aa2e505,
    },
    Golden {
        name: "fork-exec",
        head: r#"# cowsim gen fork-exec --seed 1 --param heap_mib=64 --param rounds=4 --param spawn=0
# fork-exec: a parent with a large heap starts children by fork + exec or posix_spawn: fork latency against size
# Assumes 4 KiB pages and the default address range.
{"op":"task_create","task":1}
{"op":"vm_allocate","task":1,"addr":"0x10000000","size":"64M"}
{"op":"write","task":1,"addr":"0x10000000","len":"64M"}
{"op":"fork","parent":1,"child":2}
{"op":"exec","task":2}
{"op":"exit","task":2}
{"op":"fork","parent":1,"child":3}
{"op":"exec","task":3}
{"op":"exit","task":3}
{"op":"fork","parent":1,"child":4}
{"op":"exec","task":4}
{"op":"exit","task":4}
{"op":"fork","parent":1,"child":5}
{"op":"exec","task":5}
{"op":"exit","task":5}
{"op":"read","task":1,"addr":"0x10000000","len":"64M"}
"#,
        lines: 19,
        fnv: 0x317c19c5fa7eb902,
    },
];
