/**
 * Examples shown at the end of every command's `--help`, kept in one table so a test can check that
 * each command in the tree has some and that none is left for a command that no longer exists.
 */

/**
 * Example command lines by command path (`backup restore`; `vigocli` itself is ""), each with a
 * `# why` comment.
 */
export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  "": [
    "vigocli backup create                    # archive the server under /srv/vigo into paths.snapshots",
    "vigocli backup verify /srv/vigo/snapshots/NAME.tar.gz",
    "vigocli backup replicate                 # continuous replication to server.yaml's backup.url",
    "vigocli help exit-codes                  # what each exit code means",
  ],
  "backup": [
    "vigocli backup create                    # archive into paths.snapshots",
    "vigocli backup list",
    "vigocli backup restore /srv/vigo/snapshots/vigo-backup-2026-03-13T14:30:00Z.tar.gz --dry-run",
  ],
  "backup create": [
    "vigocli backup create                              # <paths.snapshots>/vigo-backup-<time>.tar.gz",
    "vigocli backup create /tmp/vigo-backup.tar.gz --encrypt --password-file /root/pw",
    "vigocli backup create --name-format compact /var/backups/   # no colons: plain `tar tzf` reads it",
    "vigocli backup create s3://bucket/vigo                       # upload to s3://bucket/vigo/archives/",
    "vigocli backup create --dry-run                              # list what would be archived",
    "vigocli --progress backup create                             # CI log: a plain progress line every 3 s",
    "vigocli backup create --upload --exclude-master-key          # keep secrets/.master.key elsewhere",
  ],
  "backup inspect": [
    "vigocli backup inspect /tmp/vigo-backup.tar.gz",
  ],
  "backup restore": [
    "systemctl stop vigosrv",
    "vigocli backup restore /tmp/vigo-backup.tar.gz --dry-run",
    "vigocli backup restore /tmp/vigo-backup.tar.gz --target /srv/vigo",
    "vigocli backup restore s3://bucket/vigo/archives/vigo-backup-20260313T143000Z.tar.gz --db-only",
    "vigocli backup restore s3://bucket/vigo/archives/NAME.tar.gz --credentials-file s3.ini --master-key master.key",
  ],
  "backup verify": [
    "vigocli backup verify /tmp/vigo-backup.tar.gz && echo ok",
    "vigocli backup verify /tmp/vigo-backup.tar.gz --json",
    "vigocli backup verify x.tar.gz --password-command 'pass show vigo/backup'   # run without a shell",
  ],
  "backup list": [
    "vigocli backup list",
    "vigocli backup list --remote --json",
  ],
  "backup download": [
    "vigocli backup download vigo-backup-2026-03-13T14:30:00Z.tar.gz -o /tmp/",
  ],
  "backup upload": [
    "vigocli backup upload /srv/vigo/snapshots/vigo-backup-2026-03-13T14:30:00Z.tar.gz   # to backup.url",
    "vigocli backup upload /tmp/vigo-backup.tar.gz --url sftp://backup.example.com/vigo --json",
    "vigocli backup upload /tmp/vigo-backup.tar.gz --replace   # replace archives/vigo-backup.tar.gz there",
  ],
  "backup prune": [
    "vigocli backup prune --keep 14 --dry-run",
    "vigocli backup prune --remote --older-than 720h",
  ],
  "backup replicate": [
    "vigocli backup replicate                       # until SIGTERM; normally run by vigocli-replicate.service",
    "vigocli backup replicate --server-root /srv/vigo",
    "vigocli backup replicate --addr 127.0.0.1:9090    # then: curl -s 127.0.0.1:9090/metrics",
    "vigocli backup replicate --log-format json --log-level warn   # one JSON object per line, warnings up",
  ],
  "backup status": [
    "vigocli backup status                             # one screen: can I recover, how old is my data?",
    "vigocli backup status --json | jq .summary",
    "vigocli backup status --serve 127.0.0.1:8099      # then open http://127.0.0.1:8099/",
    "VIGO_STATUS_TOKEN=$(cat /root/status-token) vigocli backup status --serve 0.0.0.0:8099",
  ],
  "backup install-units": [
    "vigocli backup install-units --dry-run            # show the units; write nothing",
    "sudo vigocli backup install-units && sudo systemctl daemon-reload",
    "sudo systemctl enable --now vigocli-replicate.service vigocli-drill.timer",
    "mkdir -p units && vigocli backup install-units --dir ./units --bin /usr/local/bin/vigocli --force",
  ],
  "backup drill": [
    "vigocli backup drill                       # every configured path; report under paths.snapshots/drills/",
    "vigocli backup drill --json --max-age 25h --max-rpo 1m   # exit 8 when a path fails",
    "vigocli backup drill --scratch /var/tmp --password-file /root/pw",
  ],
  "backup replica": [
    "vigocli backup replica list",
    "vigocli backup replica restore -o /tmp/vigo.db",
  ],
  "backup replica restore": [
    "vigocli backup replica restore -o /tmp/vigo.db",
    "vigocli backup replica restore -o /tmp/vigo.db --timestamp 2026-03-13T14:30:00Z",
  ],
  "backup replica list": [
    "vigocli backup replica list --json",
  ],
  "backup replica litestream-config": [
    "vigocli backup replica litestream-config > /etc/litestream.yml",
  ],
  "secret": [
    "vigocli secret list",
  ],
  "secret set": [
    'printf %s "$KEY" | vigocli secret set vigo/backup/aws_access_key',
    "vigocli secret set vigo/backup/aws_secret_key --value-file /root/aws_secret",
    'printf %s "$KEY" | vigocli secret set vigo/backup/aws_access_key --new-master-key   # old key lost for good',
  ],
  "secret get": [
    "vigocli secret get vigo/backup/aws_access_key",
  ],
  "secret list": [
    "vigocli secret list --json",
  ],
  "crate": [
    "vigocli crate run /srv/vigo/stacks/configcrates/backups.yaml",
  ],
  "crate run": [
    "vigocli crate run /srv/vigo/stacks/configcrates/backups.yaml            # honours schedule: daily",
    "vigocli crate run backups.yaml --now --dry-run",
    "vigocli crate run vigo-server-backup.yaml --root /tmp/drill --var backup_retain=3",
  ],
  "crate restore-dump": [
    "vigocli crate restore-dump /var/backups/vigo/vigo-db/2026.072.02.00/vigo.sql.gz -o /tmp/vigo.db",
  ],
  "snapshot": [
    "vigocli snapshot list /var/backups/vigo",
  ],
  "snapshot list": [
    "vigocli snapshot list /var/backups/vigo --json",
  ],
  "completion": [
    "vigocli completion bash > /etc/bash_completion.d/vigocli",
    'vigocli completion zsh > "${fpath[1]}/_vigocli"',
    "vigocli completion fish > ~/.config/fish/completions/vigocli.fish",
  ],
  "help": [
    "vigocli help exit-codes",
    "vigocli help backup restore",
    "vigocli help --man > vigocli.1 && man -l vigocli.1",
  ],
};
