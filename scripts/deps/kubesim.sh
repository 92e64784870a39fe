#!/usr/bin/env bash
# Test dependencies of kubesim's fidelity suite (kubesim/tests): the official Python
# `kubernetes` client. kubectl (/usr/bin/kubectl) and python3 come with the machine.
# Idempotent and fast when already installed.
set -euo pipefail
python3 -c 'import kubernetes' 2>/dev/null || python3 -m pip install --quiet kubernetes
