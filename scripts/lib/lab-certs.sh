# shellcheck shell=bash
# The lab's TLS material: a CA (.lab/ca.pem) and certificates it signs for the example Ingresses' hosts, made with
# openssl at every `lab up` (keys never leave .lab/). The example manifests hold no TLS Secret: the lab writes
# them into .lab/secrets/, which the control process reads beside the manifests directory
# (--source manifests:DIR,.lab/secrets). Sourced by scripts/lab; paths are relative to the repository root.

LAB_CERT_DIR=.lab/certs
LAB_CA=.lab/ca.pem
LAB_SECRETS_DIR=.lab/secrets
# Secret name, namespace and the DNS names its certificate covers. demo-tls is the example Ingress's TLS Secret;
# edgelb-default-tls is the default certificate (a tls entry without hosts) that unknown or missing SNI gets.
LAB_TLS_SECRETS=(
    "demo-tls default secure.example.test"
    "edgelb-default-tls default default.example.test"
)

# Writes the CA and one ECDSA P-256 key and certificate per entry of LAB_TLS_SECRETS.
certs_generate() {
    local entry name ns names san dns
    rm -rf "${LAB_CERT_DIR}"
    mkdir -p "${LAB_CERT_DIR}"
    chmod 700 "${LAB_CERT_DIR}"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/O=edgelb lab/CN=edgelb lab CA" -keyout "${LAB_CERT_DIR}/ca.key" -out "${LAB_CA}" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null || die "openssl could not make the lab CA"
    for entry in "${LAB_TLS_SECRETS[@]}"; do
        read -r name ns names <<<"${entry}"
        san=""
        for dns in ${names}; do san+="${san:+,}DNS:${dns}"; done
        openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/O=edgelb lab/CN=${names%% *}" -keyout "${LAB_CERT_DIR}/${name}.key" \
            -out "${LAB_CERT_DIR}/${name}.csr" 2>/dev/null || die "openssl could not make the key of ${name}"
        openssl x509 -req -in "${LAB_CERT_DIR}/${name}.csr" -CA "${LAB_CA}" -CAkey "${LAB_CERT_DIR}/ca.key" \
            -CAserial "${LAB_CERT_DIR}/ca.srl" -CAcreateserial -days 30 -out "${LAB_CERT_DIR}/${name}.pem" \
            -extfile <(printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "${san}") 2>/dev/null ||
            die "openssl could not sign the certificate of ${name}"
        rm -f "${LAB_CERT_DIR}/${name}.csr"
    done
    log "lab CA ${LAB_CA}; certificates in ${LAB_CERT_DIR}: ${LAB_TLS_SECRETS[*]%% *}"
}

# Prints a PEM file as the indented block of a YAML literal.
certs_indent() { sed 's/^/    /' "$1"; }

# Writes .lab/secrets/tls-secrets.yaml: one kubernetes.io/tls Secret per entry of LAB_TLS_SECRETS.
certs_secrets() {
    local out entry name ns names
    rm -rf "${LAB_SECRETS_DIR}"
    mkdir -p "${LAB_SECRETS_DIR}"
    chmod 700 "${LAB_SECRETS_DIR}"
    out="${LAB_SECRETS_DIR}/tls-secrets.yaml"
    {
        printf '# Written by scripts/lab up: the TLS Secrets of the lab, signed by its CA (%s).\n' "${LAB_CA}"
        for entry in "${LAB_TLS_SECRETS[@]}"; do
            read -r name ns names <<<"${entry}"
            printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n' "${name}" "${ns}"
            printf 'type: kubernetes.io/tls\nstringData:\n  tls.crt: |\n'
            certs_indent "${LAB_CERT_DIR}/${name}.pem"
            printf '  tls.key: |\n'
            certs_indent "${LAB_CERT_DIR}/${name}.key"
        done
    } >"${out}"
    chmod 600 "${out}"
}
