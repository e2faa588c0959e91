#!/usr/bin/env bash
# Install what TRAM needs into a virtual environment, then start the app or run the tests.
#   ./tram.sh app     install, then start the dashboard (streamlit run streamlit_app.py; TRAM_DEV=1 reloads on save)
#   ./tram.sh test    install (with test tools and, as root, Debian's chromium and postgresql), then run the whole test suite
#   ./tram.sh worker  install, then run a training/prediction worker in the foreground
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3}
VENV=${TRAM_VENV:-.venv}

install_python_packages() {
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  # torch first and pinned, so a CPU-only machine that has the CPU build keeps it; a GPU server's plain
  # install of requirements.txt (torch>=2.4) takes the CUDA build instead.
  "$VENV/bin/python" -c "import torch" 2>/dev/null || "$VENV/bin/pip" install -q "torch==2.13.0"
  "$VENV/bin/pip" install -q -r requirements.txt
  if [ "${1:-}" = "test" ]; then
    "$VENV/bin/pip" install -q -r requirements-test.txt
  fi
}

install_test_system_packages() {
  # Browser tests drive Debian's chromium through Playwright; the PostgreSQL cases start a throwaway cluster with
  # Debian's postgresql (initdb, pg_ctl); the OCR cases read scanned PDFs with tesseract-ocr. Without them those
  # tests skip (or fail under CI).
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v tesseract >/dev/null || missing+=(tesseract-ocr)
  if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

install_runtime_system_packages() {
  # Scanned PDFs are read by OCR with Debian's tesseract-ocr; without it such files are refused with a message.
  if ! command -v tesseract >/dev/null && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q tesseract-ocr >/dev/null ||
      echo "tesseract-ocr could not be installed: scanned PDFs will be refused" >&2
  fi
}

case "${1:-}" in
  app)
    install_python_packages
    install_runtime_system_packages
    shift
    dev_options=()
    if [ -n "${TRAM_DEV:-}" ]; then  # reload on save while editing the code; a server keeps .streamlit/config.toml
      dev_options=(--server.fileWatcherType auto --server.runOnSave true --client.toolbarMode developer
                   --client.showErrorDetails full)
    fi
    exec "$VENV/bin/python" -m streamlit run streamlit_app.py --browser.gatherUsageStats false "${dev_options[@]}" "$@"
    ;;
  test)
    install_python_packages test
    install_test_system_packages
    shift
    exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests "$@"
    ;;
  worker)
    install_python_packages
    install_runtime_system_packages
    exec "$VENV/bin/python" -m tram_core worker
    ;;
  *)
    echo "usage: ./tram.sh app | test | worker" >&2
    exit 2
    ;;
esac
