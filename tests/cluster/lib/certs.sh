# Certificates and the admin kubeconfig for a local control plane.
# Sourced by run.sh; every function takes the target directory explicitly.
# Keys are ECDSA P-256 (fast to generate; accepted by kube-apiserver for
# serving, client and service-account tokens).

# certs_openssl_config <dir>: a self-contained openssl config, so the
# system's openssl.cnf cannot change what we generate.
certs_openssl_config() {
  cat >"$1/openssl.cnf" <<'CNF'
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[ server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1
authorityKeyIdentifier = keyid
[ client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
CNF
}

# certs_key <file>: a new P-256 private key (PKCS#8 PEM).
certs_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# certs_sign <dir> <name> <subject> <extension section>: key + cert signed by the CA.
certs_sign() {
  local dir=$1 name=$2 subject=$3 ext=$4
  certs_key "$dir/$name.key"
  openssl req -new -config "$dir/openssl.cnf" -key "$dir/$name.key" -subj "$subject" -out "$dir/$name.csr"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 \
    -extfile "$dir/openssl.cnf" -extensions "$ext" -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr"
}

# certs_generate <dir>: CA, apiserver serving cert, admin client cert
# (O=system:masters) and the service-account key pair. Kept when present.
certs_generate() {
  local dir=$1
  if [[ -s $dir/ca.crt && -s $dir/apiserver.crt && -s $dir/admin.crt && -s $dir/sa.pub ]]; then
    return 0
  fi
  mkdir -p "$dir"
  certs_openssl_config "$dir"
  certs_key "$dir/ca.key"
  openssl req -x509 -new -config "$dir/openssl.cnf" -key "$dir/ca.key" -subj "/CN=driftless-local-ca" \
    -days 3650 -extensions ca -out "$dir/ca.crt"
  certs_sign "$dir" apiserver "/CN=kube-apiserver" server
  certs_sign "$dir" admin "/O=system:masters/CN=driftless-admin" client
  certs_key "$dir/sa.key"
  openssl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  chmod 600 "$dir"/*.key
}

# certs_kubeconfig <dir> <server url> <out file>: an admin kubeconfig with
# the certificates embedded, so it can be copied anywhere.
certs_kubeconfig() {
  local dir=$1 server=$2 out=$3
  local tmp="$out.tmp"
  cat >"$tmp" <<KC
apiVersion: v1
kind: Config
clusters:
- name: driftless-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$dir/ca.crt")
users:
- name: driftless-admin
  user:
    client-certificate-data: $(base64 -w0 "$dir/admin.crt")
    client-key-data: $(base64 -w0 "$dir/admin.key")
contexts:
- name: driftless-local
  context:
    cluster: driftless-local
    user: driftless-admin
    namespace: default
current-context: driftless-local
KC
  chmod 600 "$tmp"
  mv "$tmp" "$out"
}
