//! Serves a directory of bare Git repositories until killed, printing the
//! URLs: `cargo run -p driftless-testkit --example git-server -- --dir D
//! [--user U] [--password P] [--repo NAME]... [--git-port N] [--http-port N]
//! [--no-ssh]`.
//!
//! Each `--repo NAME` creates `D/NAME.git` (empty, default branch `main`)
//! unless it exists. Push to it with `git push <http url> main`.

use driftless_testkit::git::{GitServer, GitServerOptions};

fn main() {
    let mut options = GitServerOptions::default();
    let mut repos = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("{arg} needs a value");
                std::process::exit(2)
            })
        };
        match arg.as_str() {
            "--dir" => options.dir = Some(value().into()),
            "--user" => options.username = value(),
            "--password" => options.password = value(),
            "--repo" => repos.push(value()),
            "--no-ssh" => options.ssh = false,
            "--git-port" => options.git_port = value().parse().ok(),
            "--http-port" => options.http_port = value().parse().ok(),
            other => {
                eprintln!(
                    "unknown argument {other}; usage: --dir D [--user U] [--password P] [--repo NAME]... [--git-port N] [--http-port N] [--no-ssh]"
                );
                std::process::exit(2)
            }
        }
    }
    if options.dir.is_none() {
        eprintln!("--dir is required (the directory of bare repositories)");
        std::process::exit(2)
    }
    let server = GitServer::start_blocking(options);
    for repo in &repos {
        if !server.base_dir().join(format!("{repo}.git")).exists() {
            server.create_repo(repo);
        }
    }
    let (user, password) = server.credentials();
    println!("repos:     {}", server.base_dir().display());
    println!("git://     {}", server.git_url("<repo>"));
    println!(
        "http://    {}  (basic auth {user} / {password})",
        server.http_url("<repo>")
    );
    if let Some(url) = server.ssh_url("<repo>") {
        let ssh = server.ssh().expect("ssh access");
        println!("ssh://     {url}  (key {})", ssh.private_key_path.display());
        print!("known_hosts: {}", ssh.known_hosts);
    }
    for repo in &repos {
        println!("repo {repo}: {}", server.http_url(repo));
    }
    println!("serving until killed");
    loop {
        std::thread::park();
    }
}
