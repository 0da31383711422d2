#!/usr/bin/env bash
# Installs the Debian packages Atrium needs when they are missing (as root), or says exactly
# what to install. Usage: scripts/ensure-deps.sh [--browser]
#   always:     libargon2-dev (password hashing), zlib1g-dev (.xlsx files), postgresql (embedded
#               cluster), python3
#   --browser:  chromium, chromium-driver, python3-pip, shellcheck, fonts-noto-cjk (readable
#               Chinese in screenshots), openssl (a certificate for the STARTTLS test), libreoffice-calc
#               (opens the .xlsx exports and writes the files the Excel check imports); selenium,
#               openapi-spec-validator and aiosmtpd (the mail tests' SMTP server) from PyPI
#               (UI, API document, mail and deploy/ kit tests); zbar-tools (zbarimg reads the
#               two-factor enrolment QR code back in the browser checks)
set -euo pipefail
packages=(libargon2-dev zlib1g-dev postgresql python3)
browser=0
if [ "${1:-}" = "--browser" ]; then
    browser=1
    packages+=(chromium chromium-driver python3-pip shellcheck fonts-noto-cjk curl openssl libreoffice-calc)
    packages+=(zbar-tools)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "ensure-deps: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "ensure-deps: missing Debian packages: ${missing[*]}" >&2
        echo "ensure-deps: run: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
pip_install() {
    python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
if [ "$browser" = 1 ]; then
    python3 -c 'import selenium' 2>/dev/null || { echo "ensure-deps: installing selenium from PyPI" >&2; pip_install selenium; }
    python3 -c 'import openapi_spec_validator' 2>/dev/null || { echo "ensure-deps: installing openapi-spec-validator from PyPI" >&2; pip_install openapi-spec-validator; }
    python3 -c 'import aiosmtpd' 2>/dev/null || { echo "ensure-deps: installing aiosmtpd from PyPI" >&2; pip_install aiosmtpd; }
fi
