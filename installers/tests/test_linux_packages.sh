#!/usr/bin/env bash
# The Linux packages, proven by installing: builds the .deb and .rpm from a finished build tree
# with CPack, checks their contents and computed dependencies, installs the .deb with apt-get onto
# this machine (programs run from /usr/bin with the build tree off PATH), runs them, checks every
# desktop-integration file, then purges the package and checks nothing is left. Installing is
# machine-wide, so CTest runs this alone (RUN_SERIAL), and a trap purges the package on any exit.
# Needs root (exit 77, a CTest skip, otherwise). Usage: test_linux_packages.sh BUILD_DIR CPACK VERSION
set -euo pipefail
build_dir="$(cd "$1" && pwd)"; cpack="$2"; version="$3"
app_id=org.tessera.Tessera
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP: installing a package needs root (CI runs as root)"; exit 77; }
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || fail "needs a Debian system (apt-get, dpkg-deb)"
for tool in rpm appstreamcli desktop-file-validate python3; do
  command -v "$tool" >/dev/null || fail "'$tool' is missing: run scripts/setup (scripts/packages.txt lists it)"
done
# True when dpkg holds any trace of the package but a clean "not installed" or leftover config.
package_present() {
  case "$(dpkg-query -W -f='${Status}' tessera 2>/dev/null)" in
    "" | *" not-installed" | *" config-files") return 1 ;;
    *) return 0 ;;
  esac
}
if package_present; then
  fail "a 'tessera' package is already installed here; this test would replace it. Remove it first: apt-get purge tessera"
fi

work="$(mktemp -d /tmp/tessera-packages.XXXXXX)"
installed=0
apt_wait=(-o DPkg::Lock::Timeout=300)  # another apt-get on the machine: wait for it, do not fail
cleanup() {
  status=$?
  if [ "$installed" -eq 1 ]; then
    echo "cleanup: purging the tessera package this test installed"
    DEBIAN_FRONTEND=noninteractive apt-get purge -y "${apt_wait[@]}" tessera >/dev/null 2>&1 \
      || dpkg --purge tessera >/dev/null 2>&1 || echo "cleanup: could not purge tessera; run: apt-get purge tessera" >&2
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "building the packages with CPack"
"$cpack" --config "$build_dir/CPackConfig.cmake" -G "DEB;RPM" -B "$work/out" > "$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=("$work"/out/tessera_"$version"-1_*.deb)
rpm=("$work"/out/tessera-"$version"-1.*.rpm)
[ -f "${deb[0]}" ] || fail "no .deb in $work/out: $(ls "$work/out")"
[ -f "${rpm[0]}" ] || fail "no .rpm in $work/out: $(ls "$work/out")"
ls -l "${deb[0]}" "${rpm[0]}"

# What every package must hold, relative to /.
expected=(
  usr/bin/tessera usr/bin/tessera-node usr/bin/tessera-hub
  "usr/share/applications/$app_id.desktop"
  "usr/share/metainfo/$app_id.metainfo.xml"
  "usr/share/icons/hicolor/scalable/apps/$app_id.svg"
  usr/share/man/man1/tessera.1.gz usr/share/man/man1/tessera-node.1.gz usr/share/man/man1/tessera-hub.1.gz
  usr/lib/systemd/user/tessera-node.service
  usr/lib/tessera/backends/libtessera-backend-cpu.so
)
for size in 16 22 24 32 48 64 128 256 512; do
  expected+=("usr/share/icons/hicolor/${size}x${size}/apps/$app_id.png")
done

step "checking the .deb: contents and computed dependencies"
dpkg-deb --contents "${deb[0]}" | awk '{print $NF}' | sed 's|^\./||' > "$work/deb-files"
for file in "${expected[@]}"; do grep -qxF "$file" "$work/deb-files" || fail ".deb lacks $file"; done
depends="$(dpkg-deb --field "${deb[0]}" Depends)"
echo "Depends: $depends"
# dpkg-shlibdeps must have found the libraries the programs link (a hand-written list would not
# carry versions like these).
for library in libtorch libsodium libsqlite3 libqt6widgets6 libc6 qt6-qpa-plugins; do
  grep -q "$library" <<<"$depends" || fail ".deb Depends lacks $library (dpkg-shlibdeps did not run?)"
done

step "checking the .rpm with rpm -qpl and rpm -qpR"
rpm -qpl "${rpm[0]}" 2>/dev/null | sed 's|^/||' > "$work/rpm-files"
for file in "${expected[@]}"; do grep -qxF "$file" "$work/rpm-files" || fail ".rpm lacks /$file"; done
owned='usr/share/(applications|icons|icons/hicolor|man|man/man1|metainfo)|usr/lib/(systemd|systemd/user|\.build-id.*)'
grep -qxE "$owned" "$work/rpm-files" && fail ".rpm claims directories it does not own: $(grep -xE "$owned" "$work/rpm-files")"
rpm -qpR "${rpm[0]}" 2>/dev/null > "$work/rpm-requires"
cat "$work/rpm-requires"
for library in 'libtorch' 'libsodium.so' 'libsqlite3.so' 'libQt6Widgets.so' 'libc.so.6'; do
  grep -q "$library" "$work/rpm-requires" || fail ".rpm Requires lacks $library (automatic Requires off?)"
done

step "installing the .deb with apt-get (build tree off PATH)"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
installed=1
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${apt_wait[@]}" "${deb[0]}" > "$work/apt.log" 2>&1 \
  || { cat "$work/apt.log"; fail "apt-get install failed"; }
dpkg-query -W -f='${Status}\n' tessera | grep -qx 'install ok installed' || fail "dpkg does not list tessera as installed"
for file in "${expected[@]}"; do [ -f "/$file" ] || fail "/$file is missing after install"; done

step "desktop integration files"
appstreamcli validate --no-net "/usr/share/metainfo/$app_id.metainfo.xml" || fail "appstreamcli validate failed"
desktop-file-validate "/usr/share/applications/$app_id.desktop" || fail "desktop-file-validate failed"
grep -qx 'Exec=tessera %u' "/usr/share/applications/$app_id.desktop" || fail "the desktop entry's Exec is not 'tessera %u'"
grep -qx 'MimeType=x-scheme-handler/tessera;' "/usr/share/applications/$app_id.desktop" || fail "the desktop entry does not open tessera:// links"
grep -qx "Icon=$app_id" "/usr/share/applications/$app_id.desktop" || fail "the desktop entry's Icon is not $app_id"
grep -qx 'ExecStart=/usr/bin/tessera-node run' /usr/lib/systemd/user/tessera-node.service \
  || fail "the systemd unit does not start '/usr/bin/tessera-node run'"
grep -qx 'Restart=on-failure' /usr/lib/systemd/user/tessera-node.service || fail "the systemd unit lacks Restart=on-failure"
if command -v systemd-analyze >/dev/null; then
  # The unit's syntax, and that ExecStart's binary exists (the man page is checked below).
  SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no /usr/lib/systemd/user/tessera-node.service \
    > "$work/verify.log" 2>&1 || { cat "$work/verify.log"; fail "systemd-analyze verify rejects the unit"; }
  [ -s "$work/verify.log" ] && { cat "$work/verify.log"; fail "systemd-analyze verify warns about the unit"; }
fi
for program in tessera tessera-node tessera-hub; do
  page="/usr/share/man/man1/$program.1.gz"
  gzip -cd "$page" | head -5 | grep -q "^\.TH \"*${program^^}" || fail "$page is not a man page for $program"
  gzip -cd "$page" | grep -qF -- '\-\-version' || fail "$page lacks the options of $program --help"
  if command -v man >/dev/null; then  # renders without a groff warning
    warnings="$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)"
    [ -z "$warnings" ] || fail "$page renders with warnings: $warnings"
  fi
done
gzip -cd /usr/share/man/man1/tessera-node.1.gz | grep -q '^\.SS tessera-node doctor' \
  || fail "tessera-node.1 lacks the doctor command"

step "running the installed programs"
for program in tessera tessera-node tessera-hub; do
  readelf -d "/usr/bin/$program" | grep -E 'RPATH|RUNPATH' && fail "/usr/bin/$program keeps a build-tree RPATH"
  ldd "/usr/bin/$program" | grep 'not found' && fail "/usr/bin/$program has unresolved libraries"
done
ldd /usr/lib/tessera/backends/libtessera-backend-cpu.so | grep 'not found' && fail "the CPU backend has unresolved libraries"
home="$work/home"; mkdir -p "$home"
run() { env -i HOME="$home" PATH="$PATH" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen "$@"; }
out="$(run /usr/bin/tessera-node --version)"; echo "$out"
[ "$out" = "tessera-node $version" ] || fail "tessera-node --version printed '$out'"
out="$(run /usr/bin/tessera-hub --version)"; [ "$out" = "tessera-hub $version" ] || fail "tessera-hub --version printed '$out'"
out="$(run /usr/bin/tessera --version)"; [ "$out" = "Tessera $version" ] || fail "tessera --version printed '$out'"
run /usr/bin/tessera-node doctor --json > "$work/doctor.json" || fail "tessera-node doctor --json failed"
python3 - "$work/doctor.json" <<'PY' || fail "doctor --json is not the expected JSON object"
import json, sys
report = json.load(open(sys.argv[1]))
missing = [k for k in ("os", "cpu", "ram_bytes", "torch_version", "blas", "matmul_gflops", "verdict", "backend") if k not in report]
assert not missing, f"missing keys {missing}"
assert report["backend"] == "cpu", f"the installed node loaded the {report['backend']} backend, not the packaged cpu one"
assert report["data_dir"].startswith(sys.argv[1].rsplit("/", 1)[0]), f"data_dir {report['data_dir']} is not under the test's HOME"
print("doctor:", report["verdict"])
PY

run /usr/bin/tessera-node run --help > /dev/null || fail "tessera-node run --help (the systemd unit's command) failed"
run /usr/bin/tessera-node demo --steps 5 --json > "$work/demo.json" || fail "tessera-node demo --steps 5 --json failed"
python3 - "$work/demo.json" <<'PY' || fail "demo --json is not the expected summary"
import json, sys
summary = json.load(open(sys.argv[1]))
for key in ("steps", "loss_first", "loss_last", "tokens_per_s", "bytes_per_token", "receipts_verified", "work_rows", "ledger"):
    assert key in summary, "missing " + key
assert summary["steps"] == 5, summary["steps"]
assert summary["receipts_verified"] > 0, "no receipt verified"
assert summary["loss_last"] < summary["loss_first"], "loss did not fall"
PY
run /usr/bin/tessera --screenshots "$work/shots" || fail "tessera --screenshots failed"
ls "$work"/shots/home-light.png "$work"/shots/dashboards-dark.png > /dev/null 2>&1 || fail "tessera --screenshots wrote no page PNGs"

step "purging the package"
DEBIAN_FRONTEND=noninteractive apt-get purge -y "${apt_wait[@]}" tessera > "$work/purge.log" 2>&1 \
  || { cat "$work/purge.log"; fail "apt-get purge failed"; }
installed=0
package_present && fail "tessera is still installed after purge: $(dpkg-query -W -f='${Status}' tessera)"
dpkg-query -W -f='${Status}' tessera 2>/dev/null | grep -q 'config-files' && fail "purge left tessera's config files registered"
left=()
for file in "${expected[@]}"; do [ -e "/$file" ] && left+=("/$file"); done
[ ${#left[@]} -eq 0 ] || fail "left behind after purge: ${left[*]}"
echo "PASS: built, checked, installed, ran and purged $(basename "${deb[0]}")"
