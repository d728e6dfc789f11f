#!/usr/bin/with-contenv bashio
# Maps the add-on options and the Supervisor's MQTT service onto TeslaSync's environment variables.
set -euo pipefail

export TESLASYNC_STORAGE__PATH=/data
export TESLA_CLIENT_ID="$(bashio::config 'client_id')"
export TESLASYNC_TESLA__REGION="$(bashio::config 'region')"
export TESLASYNC_LOG__LEVEL="$(bashio::config 'log_level')"
if bashio::config.has_value 'client_secret'; then export TESLA_CLIENT_SECRET="$(bashio::config 'client_secret')"; fi
if bashio::config.has_value 'domain'; then export TESLASYNC_TESLA__DOMAIN="$(bashio::config 'domain')"; fi
if bashio::config.has_value 'base_topic'; then export TESLASYNC_MQTT__BASE_TOPIC="$(bashio::config 'base_topic')"; fi

# Storage key: the user's own (kept out of backups), else one generated once and kept in /data.
if bashio::config.has_value 'encryption_key'; then
  export ENCRYPTION_KEY="$(bashio::config 'encryption_key')"
else
  if [ ! -s /data/.encryption_key ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 > /data/.encryption_key)
    bashio::log.info "Generated a storage encryption key in /data/.encryption_key"
  fi
  export ENCRYPTION_KEY="$(cat /data/.encryption_key)"
fi

# A refresh token pasted into the options is imported once (sealed in the store), then removed from the
# options: Tesla refresh tokens are single use, and the options file is not the place to keep secrets.
if bashio::config.has_value 'refresh_token'; then
  /usr/bin/teslasync auth import --refresh-token "$(bashio::config 'refresh_token')"
  bashio::addon.option 'refresh_token'
  bashio::log.info "Imported the refresh token and removed it from the options"
fi

if bashio::services.available "mqtt"; then
  scheme=mqtt
  if [ "$(bashio::services mqtt 'ssl')" = "true" ]; then scheme=mqtts; fi
  export TESLASYNC_MQTT__URL="${scheme}://$(bashio::services mqtt 'host'):$(bashio::services mqtt 'port')"
  export TESLASYNC_MQTT__USERNAME="$(bashio::services mqtt 'username')"
  export TESLASYNC_MQTT__PASSWORD="$(bashio::services mqtt 'password')"
else
  bashio::exit.nok "No MQTT broker: install and start the Mosquitto broker add-on first."
fi

exec /usr/bin/teslasync run
