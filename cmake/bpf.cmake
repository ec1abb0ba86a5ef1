# BPF programs: compiled by clang for the BPF target against the running kernel's BTF (CO-RE:
# vmlinux.h is dumped into the build directory by bpftool, never committed), then wrapped by
# `bpftool gen skeleton` into a header that embeds the object. Needs clang, bpftool and
# libbpf-dev (scripts/setup.sh installs them).
#
#   ringcap_bpf_skeleton(NAME SOURCE DEPENDS...)  ->  ${RINGCAP_BPF_DIR}/NAME.skel.h
find_program(RINGCAP_BPF_CLANG NAMES clang-14 clang REQUIRED)
find_program(RINGCAP_BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)
set(RINGCAP_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH
    "kernel BTF the BPF programs are compiled against (CO-RE relocates them at load time)")
set(RINGCAP_BPF_DIR ${CMAKE_BINARY_DIR}/bpf)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(ringcap_bpf_arch x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(ringcap_bpf_arch arm64)
else()
  set(ringcap_bpf_arch ${CMAKE_SYSTEM_PROCESSOR})
endif()

add_custom_command(
  OUTPUT ${RINGCAP_BPF_DIR}/vmlinux.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${RINGCAP_BPF_DIR}
  COMMAND sh -c "'${RINGCAP_BPFTOOL}' btf dump file '${RINGCAP_VMLINUX_BTF}' format c > '${RINGCAP_BPF_DIR}/vmlinux.h.tmp' && mv '${RINGCAP_BPF_DIR}/vmlinux.h.tmp' '${RINGCAP_BPF_DIR}/vmlinux.h'"
  DEPENDS ${RINGCAP_VMLINUX_BTF}
  COMMENT "bpftool: vmlinux.h from ${RINGCAP_VMLINUX_BTF}"
  VERBATIM)
# One target makes vmlinux.h and every skeleton target waits for it: two targets that each ran
# the command above would run it at once under make -j (both writing vmlinux.h.tmp).
add_custom_target(ringcap_vmlinux_h DEPENDS ${RINGCAP_BPF_DIR}/vmlinux.h)

function(ringcap_bpf_skeleton name source)
  set(obj ${RINGCAP_BPF_DIR}/${name}.bpf.o)
  set(linked ${RINGCAP_BPF_DIR}/${name}.linked.o)
  set(skel ${RINGCAP_BPF_DIR}/${name}.skel.h)
  get_filename_component(src_dir ${source} DIRECTORY)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${RINGCAP_BPF_CLANG} -target bpf -O2 -g -Wall -Werror -D__TARGET_ARCH_${ringcap_bpf_arch}
            -I${RINGCAP_BPF_DIR} -I${src_dir} -c ${source} -o ${obj}
    COMMAND ${RINGCAP_BPFTOOL} gen object ${linked} ${obj}
    COMMAND sh -c "'${RINGCAP_BPFTOOL}' gen skeleton '${linked}' name ${name} > '${skel}.tmp' && mv '${skel}.tmp' '${skel}'"
    DEPENDS ${source} ${ARGN} ${RINGCAP_BPF_DIR}/vmlinux.h
    COMMENT "clang -target bpf, bpftool gen skeleton: ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skeleton DEPENDS ${skel})
  add_dependencies(${name}_skeleton ringcap_vmlinux_h)
endfunction()
