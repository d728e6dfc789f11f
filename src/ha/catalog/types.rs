//! The vocabulary of catalog rows: platforms, Home Assistant's device classes, units and categories
//! as enums, and one row type per platform family with `const` builders.
//!
//! Invalid rows do not compile: a sensor's unit comes from its [`Measure`] (so a `battery` sensor is
//! always `%`), binary sensors take only [`BinaryClass`]es, a control cannot be written without the
//! [`Call`]s it sends, and only control platforms have a `.config()` category.

use crate::vehicle::signal::{Signal, Signals};

/// Home Assistant entity platforms TeslaSync publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Platform {
    Sensor,
    BinarySensor,
    DeviceTracker,
    Lock,
    Switch,
    Number,
    Button,
    Cover,
    Select,
    Climate,
    Update,
    Time,
    Event,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Sensor => "sensor",
            Platform::BinarySensor => "binary_sensor",
            Platform::DeviceTracker => "device_tracker",
            Platform::Lock => "lock",
            Platform::Switch => "switch",
            Platform::Number => "number",
            Platform::Button => "button",
            Platform::Cover => "cover",
            Platform::Select => "select",
            Platform::Climate => "climate",
            Platform::Update => "update",
            Platform::Time => "time",
            Platform::Event => "event",
        }
    }
}

/// Home Assistant's entity categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Diagnostic,
    /// Settings; only control platforms may have it (Home Assistant rejects it on sensors).
    Config,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Diagnostic => "diagnostic",
            Category::Config => "config",
        }
    }
}

/// Units of measurement, in Tesla's native units (Home Assistant converts for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Celsius,
    Miles,
    MilesPerHour,
    Kilowatts,
    KilowattHours,
    Volts,
    Amperes,
    Bar,
    Seconds,
    Minutes,
    Hours,
    RadiansPerSecond,
    NewtonMetres,
    StandardGravity,
    Kiloohms,
    Degrees,
    Metres,
    /// US dollars (Tesla bills the Fleet API in USD).
    UsDollars,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Percent => "%",
            Unit::Celsius => "°C",
            Unit::Miles => "mi",
            Unit::MilesPerHour => "mph",
            Unit::Kilowatts => "kW",
            Unit::KilowattHours => "kWh",
            Unit::Volts => "V",
            Unit::Amperes => "A",
            Unit::Bar => "bar",
            Unit::Seconds => "s",
            Unit::Minutes => "min",
            Unit::Hours => "h",
            Unit::RadiansPerSecond => "rad/s",
            Unit::NewtonMetres => "Nm",
            Unit::StandardGravity => "g",
            Unit::Kiloohms => "kΩ",
            Unit::Degrees => "°",
            Unit::Metres => "m",
            Unit::UsDollars => "USD",
        }
    }
}

/// What a sensor measures: Home Assistant's sensor device class together with the unit it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Battery,
    Temperature,
    Distance,
    Speed,
    Power,
    Energy,
    EnergyStorage,
    Voltage,
    Current,
    Pressure,
    /// A duration in the given unit (`Seconds`, `Minutes` or `Hours`).
    Duration(DurationUnit),
    /// An amount of money in US dollars.
    Monetary,
    /// An ISO 8601 point in time.
    Timestamp,
    /// One of a fixed list of lower-snake-case states.
    Enum(&'static [&'static str]),
    /// No device class, a unit (`Percent`, `Nm`, `rad/s`, ...).
    Plain(Unit),
    /// No device class, no unit (counts, names, versions).
    None,
}

/// The units Home Assistant accepts for `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    Seconds,
    Minutes,
    Hours,
}

impl Measure {
    /// Home Assistant's `device_class` for the sensor.
    pub fn device_class(self) -> Option<&'static str> {
        Some(match self {
            Measure::Battery => "battery",
            Measure::Temperature => "temperature",
            Measure::Distance => "distance",
            Measure::Speed => "speed",
            Measure::Power => "power",
            Measure::Energy => "energy",
            Measure::EnergyStorage => "energy_storage",
            Measure::Voltage => "voltage",
            Measure::Current => "current",
            Measure::Pressure => "pressure",
            Measure::Duration(_) => "duration",
            Measure::Monetary => "monetary",
            Measure::Timestamp => "timestamp",
            Measure::Enum(_) => "enum",
            Measure::Plain(_) | Measure::None => return None,
        })
    }

    pub fn unit(self) -> Option<Unit> {
        Some(match self {
            Measure::Battery => Unit::Percent,
            Measure::Temperature => Unit::Celsius,
            Measure::Distance => Unit::Miles,
            Measure::Speed => Unit::MilesPerHour,
            Measure::Power => Unit::Kilowatts,
            Measure::Energy | Measure::EnergyStorage => Unit::KilowattHours,
            Measure::Voltage => Unit::Volts,
            Measure::Current => Unit::Amperes,
            Measure::Pressure => Unit::Bar,
            Measure::Duration(DurationUnit::Seconds) => Unit::Seconds,
            Measure::Duration(DurationUnit::Minutes) => Unit::Minutes,
            Measure::Duration(DurationUnit::Hours) => Unit::Hours,
            Measure::Monetary => Unit::UsDollars,
            Measure::Plain(u) => u,
            Measure::Timestamp | Measure::Enum(_) | Measure::None => return None,
        })
    }

    pub fn options(self) -> &'static [&'static str] {
        match self {
            Measure::Enum(options) => options,
            _ => &[],
        }
    }
}

/// Home Assistant's sensor state classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateClass {
    Measurement,
    MeasurementAngle,
    Total,
    TotalIncreasing,
}

impl StateClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StateClass::Measurement => "measurement",
            StateClass::MeasurementAngle => "measurement_angle",
            StateClass::Total => "total",
            StateClass::TotalIncreasing => "total_increasing",
        }
    }
}

/// Home Assistant's binary sensor device classes (the ones a car needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryClass {
    Connectivity,
    Door,
    Window,
    Heat,
    Presence,
    Problem,
    Running,
    Safety,
    Plug,
    Lock,
}

impl BinaryClass {
    pub fn as_str(self) -> &'static str {
        match self {
            BinaryClass::Connectivity => "connectivity",
            BinaryClass::Door => "door",
            BinaryClass::Window => "window",
            BinaryClass::Heat => "heat",
            BinaryClass::Presence => "presence",
            BinaryClass::Problem => "problem",
            BinaryClass::Running => "running",
            BinaryClass::Safety => "safety",
            BinaryClass::Plug => "plug",
            BinaryClass::Lock => "lock",
        }
    }
}

/// Home Assistant's cover device classes used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverClass {
    Door,
    Window,
}

impl CoverClass {
    pub fn as_str(self) -> &'static str {
        match self {
            CoverClass::Door => "door",
            CoverClass::Window => "window",
        }
    }
}

/// Hardware some cars lack; entities that need it are created only when the car reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    SunRoof,
    RearSeatHeaters,
    ThirdRowSeats,
    SeatCooling,
    /// A Cybertruck's powered tonneau.
    Tonneau,
    /// Cabin overheat protection with a user-set temperature.
    CopTemperature,
}

// ── How a state is read ─────────────────────────────────────────────────────────────────────

/// A value read from the signals, before the platform words it (`ON`, `open`, `locked`, `72`).
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    Bool(bool),
    Number(f64),
    Text(String),
    /// Known to be unknown (a route field after navigation ended).
    Unknown,
}

/// How an entity's state comes from the car's signals. The signal named first is the row's source
/// (shown in docs/entities.md); when Tesla reported it as unknown, the entity is unknown.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// The signal as it is: a number, a flag or a text.
    Value(Signal),
    /// A flag: the text is one of these (compared case-insensitively).
    Is(Signal, &'static [&'static str]),
    /// A flag: the text is none of these (compared case-insensitively).
    IsNot(Signal, &'static [&'static str]),
    /// Anything that needs more than one signal or a conversion.
    Derived(Signal, fn(&Signals) -> Option<Reading>),
}

impl Read {
    pub const fn signal(&self) -> Signal {
        match self {
            Read::Value(s) | Read::Is(s, _) | Read::IsNot(s, _) | Read::Derived(s, _) => *s,
        }
    }
}

// ── How a control reaches the car ───────────────────────────────────────────────────────────

/// One Fleet API command an entity sends: its name and how the `/set` payload becomes its JSON
/// parameters. The bridge turns it into a [`crate::vehicle::command::Command`] through
/// `Command::parse`, the one validating parser, so an entity can never send what the command
/// table would refuse.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    /// The Fleet API command name (`set_charge_limit`).
    pub command: &'static str,
    /// Constant parameters as a JSON object (`{"which_trunk": "rear"}`); empty for none.
    pub params: &'static str,
    /// The parameters that receive the payload's value (`["percent"]`; `set_temps` sets both
    /// sides from one value).
    pub value: &'static [&'static str],
    /// Parameters the car's state supplies (its coordinates for `trigger_homelink`).
    pub from_car: Option<FromCar>,
}

/// Parameters taken from the car's current signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FromCar {
    /// `lat` and `lon` of the car's location; refused when unknown.
    Coordinates,
    /// The charge-on-solar settings the payload does not set (`enabled`, `lower_charge_limit`,
    /// `upper_charge_limit`), as last set, or the Tesla app's defaults (off, 40 %, 90 %).
    ChargeOnSolar,
}

impl Call {
    /// A command without parameters.
    pub const fn new(command: &'static str) -> Call {
        Call {
            command,
            params: "",
            value: &[],
            from_car: None,
        }
    }

    /// A command with constant parameters.
    pub const fn with(command: &'static str, params: &'static str) -> Call {
        Call {
            params,
            ..Call::new(command)
        }
    }

    /// A command whose parameters `value` receive the payload's value (`&["percent"]`).
    pub const fn value(command: &'static str, value: &'static [&'static str]) -> Call {
        Call {
            value,
            ..Call::new(command)
        }
    }

    /// Constant parameters besides the value.
    pub const fn and(mut self, params: &'static str) -> Call {
        self.params = params;
        self
    }

    /// Adds the car's coordinates as `lat` and `lon`.
    pub const fn at_car(mut self) -> Call {
        self.from_car = Some(FromCar::Coordinates);
        self
    }

    /// Completes a charge-on-solar update with the settings the payload leaves alone.
    pub const fn keeping_solar_settings(mut self) -> Call {
        self.from_car = Some(FromCar::ChargeOnSolar);
        self
    }
}

/// One option of a select, a climate mode or preset: the word Home Assistant shows, the JSON value
/// it stands for in the command (and in the car's state), and other spellings the car's state uses.
#[derive(Debug, Clone, Copy)]
pub struct Choice {
    pub option: &'static str,
    /// JSON: the value for the call's value parameters, or an object merged into its parameters.
    pub value: &'static str,
    /// Other state spellings that mean this option (telemetry's `Party` for `camp`), lower snake case.
    pub also: &'static [&'static str],
}

/// A choice; `value` is JSON.
pub const fn choice(option: &'static str, value: &'static str) -> Choice {
    Choice {
        option,
        value,
        also: &[],
    }
}

impl Choice {
    pub const fn or(mut self, also: &'static [&'static str]) -> Choice {
        self.also = also;
        self
    }
}

/// How a chosen option is sent.
#[derive(Debug, Clone, Copy)]
pub enum Send {
    /// One command; the option's value goes into the call's value parameters.
    Value(Call),
    /// A command per option, in the order of the choices.
    PerChoice(&'static [Call]),
}

/// A set of options read from one signal and sent as commands (selects, climate modes and presets).
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub signal: Signal,
    pub choices: &'static [Choice],
    pub send: Send,
}

/// A bound of a number or a climate set point: fixed, or what the car reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bound {
    Fixed(f64),
    /// The signal's value, or the default while the car has not said.
    Signal(Signal, f64),
}

/// The range a number or set point advertises (and therefore accepts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    pub min: Bound,
    pub max: Bound,
    pub step: f64,
}

/// A resolved range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
    pub step: f64,
}

// ── Rows ────────────────────────────────────────────────────────────────────────────────────

/// What every entity has.
#[derive(Debug, Clone, Copy)]
pub struct Common {
    /// Home Assistant's key (tesla_fleet / teslemetry), or ours for our own entities.
    pub key: &'static str,
    /// Where the key is used by two platforms: the topic segment and unique-id suffix of this row.
    pub id: Option<&'static str>,
    /// Entity name without the car's name (Home Assistant prefixes the device name).
    pub name: &'static str,
    pub category: Option<Category>,
    /// Created enabled in Home Assistant; noisy or niche entities start disabled.
    pub enabled: bool,
    /// Created visible; `false` hides a noisy entity without disabling it.
    pub visible: bool,
    pub icon: Option<&'static str>,
    /// Created only on cars that have this hardware.
    pub requires: Option<Capability>,
}

/// The common part of a row: enabled, visible, no category.
pub const fn common(key: &'static str, name: &'static str) -> Common {
    Common {
        key,
        id: None,
        name,
        category: None,
        enabled: true,
        visible: true,
        icon: None,
        requires: None,
    }
}

/// Builders every row type has.
macro_rules! common_builders {
    ($($row:ident),*) => {$(
        impl $row {
            /// Diagnostic category.
            pub const fn diagnostic(mut self) -> Self {
                self.common.category = Some(Category::Diagnostic);
                self
            }
            /// Created disabled.
            pub const fn disabled(mut self) -> Self {
                self.common.enabled = false;
                self
            }
            /// Created hidden (still enabled).
            pub const fn hidden(mut self) -> Self {
                self.common.visible = false;
                self
            }
            pub const fn icon(mut self, icon: &'static str) -> Self {
                self.common.icon = Some(icon);
                self
            }
            /// Only on cars with this hardware.
            pub const fn requires(mut self, capability: Capability) -> Self {
                self.common.requires = Some(capability);
                self
            }
            /// The topic segment and unique-id suffix, where the key alone is not unique.
            pub const fn id(mut self, id: &'static str) -> Self {
                self.common.id = Some(id);
                self
            }
        }
    )*};
}

/// Builders only controls have.
macro_rules! control_builders {
    ($($row:ident),*) => {$(
        impl $row {
            /// A setting (`entity_category: config`).
            pub const fn config(mut self) -> Self {
                self.common.category = Some(Category::Config);
                self
            }
        }
    )*};
}

/// A read-only value.
#[derive(Debug, Clone, Copy)]
pub struct Sensor {
    pub common: Common,
    pub read: Read,
    pub measure: Measure,
    pub state_class: Option<StateClass>,
    /// Decimals published.
    pub decimals: u8,
    /// `suggested_display_precision`.
    pub precision: Option<u8>,
}

pub const fn sensor(key: &'static str, name: &'static str, read: Read) -> Sensor {
    Sensor {
        common: common(key, name),
        read,
        measure: Measure::None,
        state_class: None,
        decimals: 2,
        precision: None,
    }
}

impl Sensor {
    /// A measurement (`state_class: measurement`) of this kind.
    pub const fn measurement(mut self, measure: Measure) -> Sensor {
        self.measure = measure;
        self.state_class = Some(StateClass::Measurement);
        self
    }
    /// A kind without a state class (enum, timestamp, or a plain value).
    pub const fn of(mut self, measure: Measure) -> Sensor {
        self.measure = measure;
        self
    }
    pub const fn state_class(mut self, class: StateClass) -> Sensor {
        self.state_class = Some(class);
        self
    }
    pub const fn decimals(mut self, decimals: u8) -> Sensor {
        self.decimals = decimals;
        self
    }
    pub const fn precision(mut self, precision: u8) -> Sensor {
        self.precision = Some(precision);
        self
    }
}

/// An ON/OFF fact.
#[derive(Debug, Clone, Copy)]
pub struct BinarySensor {
    pub common: Common,
    pub read: Read,
    pub class: Option<BinaryClass>,
}

pub const fn binary(key: &'static str, name: &'static str, read: Read) -> BinarySensor {
    BinarySensor {
        common: common(key, name),
        read,
        class: None,
    }
}

impl BinarySensor {
    pub const fn class(mut self, class: BinaryClass) -> BinarySensor {
        self.class = Some(class);
        self
    }
}

/// ON/OFF with a command for each.
#[derive(Debug, Clone, Copy)]
pub struct Switch {
    pub common: Common,
    pub read: Read,
    pub on: Call,
    pub off: Call,
}

pub const fn switch(
    key: &'static str,
    name: &'static str,
    read: Read,
    on: Call,
    off: Call,
) -> Switch {
    Switch {
        common: common(key, name),
        read,
        on,
        off,
    }
}

/// A value within bounds.
#[derive(Debug, Clone, Copy)]
pub struct Number {
    pub common: Common,
    pub read: Read,
    pub measure: Measure,
    pub bounds: Bounds,
    pub set: Call,
}

pub const fn number(
    key: &'static str,
    name: &'static str,
    read: Read,
    bounds: Bounds,
    set: Call,
) -> Number {
    Number {
        common: common(key, name),
        read,
        measure: Measure::None,
        bounds,
        set,
    }
}

impl Number {
    pub const fn of(mut self, measure: Measure) -> Number {
        self.measure = measure;
        self
    }
}

/// One of a list of options.
#[derive(Debug, Clone, Copy)]
pub struct Select {
    pub common: Common,
    pub options: Options,
}

pub const fn select(key: &'static str, name: &'static str, options: Options) -> Select {
    Select {
        common: common(key, name),
        options,
    }
}

/// A stateless action.
#[derive(Debug, Clone, Copy)]
pub struct Button {
    pub common: Common,
    pub press: Call,
}

pub const fn button(key: &'static str, name: &'static str, press: Call) -> Button {
    Button {
        common: common(key, name),
        press,
    }
}

/// Something that opens and closes (`open` / `closed`).
#[derive(Debug, Clone, Copy)]
pub struct Cover {
    pub common: Common,
    pub class: CoverClass,
    /// True when open.
    pub read: Read,
    pub open: Option<Call>,
    pub close: Option<Call>,
    pub stop: Option<Call>,
    /// The command toggles: it is only sent when the cover is not already where it was asked to be.
    pub toggles: bool,
}

pub const fn cover(key: &'static str, name: &'static str, class: CoverClass, read: Read) -> Cover {
    Cover {
        common: common(key, name),
        class,
        read,
        open: None,
        close: None,
        stop: None,
        toggles: false,
    }
}

impl Cover {
    pub const fn open(mut self, call: Call) -> Cover {
        self.open = Some(call);
        self
    }
    pub const fn close(mut self, call: Call) -> Cover {
        self.close = Some(call);
        self
    }
    pub const fn stop(mut self, call: Call) -> Cover {
        self.stop = Some(call);
        self
    }
    pub const fn toggles(mut self) -> Cover {
        self.toggles = true;
        self
    }
}

/// What a lock does for LOCK or UNLOCK.
#[derive(Debug, Clone, Copy)]
pub enum LockAction {
    Send(Call),
    /// Refused with this explanation (the charge cable locks by itself).
    Refuse(&'static str),
}

/// `locked` / `unlocked`.
#[derive(Debug, Clone, Copy)]
pub struct Lock {
    pub common: Common,
    /// True when locked.
    pub read: Read,
    pub lock: LockAction,
    pub unlock: LockAction,
}

pub const fn lock(
    key: &'static str,
    name: &'static str,
    read: Read,
    lock: LockAction,
    unlock: LockAction,
) -> Lock {
    Lock {
        common: common(key, name),
        read,
        lock,
        unlock,
    }
}

/// A climate set point.
#[derive(Debug, Clone, Copy)]
pub struct SetPoint {
    pub read: Read,
    pub bounds: Bounds,
    pub set: Call,
    /// Discrete levels instead of a continuous value: each choice's option is a temperature.
    pub levels: &'static [Choice],
}

/// A Home Assistant climate entity: modes, and optionally a set point, presets and fan modes.
#[derive(Debug, Clone, Copy)]
pub struct Climate {
    pub common: Common,
    pub current: Option<Signal>,
    pub modes: Options,
    pub target: Option<SetPoint>,
    pub presets: Option<Options>,
    pub fans: Option<Options>,
    /// The set point exists only on cars with this capability.
    pub target_requires: Option<Capability>,
}

pub const fn climate(key: &'static str, name: &'static str, modes: Options) -> Climate {
    Climate {
        common: common(key, name),
        current: None,
        modes,
        target: None,
        presets: None,
        fans: None,
        target_requires: None,
    }
}

impl Climate {
    pub const fn current(mut self, signal: Signal) -> Climate {
        self.current = Some(signal);
        self
    }
    pub const fn target(mut self, target: SetPoint) -> Climate {
        self.target = Some(target);
        self
    }
    pub const fn target_requires(mut self, capability: Capability) -> Climate {
        self.target_requires = Some(capability);
        self
    }
    pub const fn presets(mut self, presets: Options) -> Climate {
        self.presets = Some(presets);
        self
    }
    pub const fn fans(mut self, fans: Options) -> Climate {
        self.fans = Some(fans);
        self
    }
}

/// The car's firmware as a Home Assistant update entity.
#[derive(Debug, Clone, Copy)]
pub struct Update {
    pub common: Common,
    /// Installed version.
    pub installed: Signal,
    /// Version offered, its status (`available`, `downloading`, `installing`, `scheduled`, ...) and
    /// progress in percent.
    pub latest: Signal,
    pub status: Signal,
    pub progress: Signal,
    pub install: Call,
}

/// A position with latitude and longitude, and optionally a place name as its state.
#[derive(Debug, Clone, Copy)]
pub struct Tracker {
    pub common: Common,
    pub location: Signal,
    /// The place name shown as the state (a route's destination).
    pub place: Option<Signal>,
}

pub const fn tracker(key: &'static str, name: &'static str, location: Signal) -> Tracker {
    Tracker {
        common: common(key, name),
        location,
        place: None,
    }
}

impl Tracker {
    pub const fn place(mut self, signal: Signal) -> Tracker {
        self.place = Some(signal);
        self
    }
}

/// A time of day (`HH:MM:SS`), stored by the car as minutes after midnight.
#[derive(Debug, Clone, Copy)]
pub struct Time {
    pub common: Common,
    pub read: Read,
    /// The payload's minutes after midnight go into the call's value parameters.
    pub set: Call,
}

pub const fn time(key: &'static str, name: &'static str, read: Read, set: Call) -> Time {
    Time {
        common: common(key, name),
        read,
        set,
    }
}

/// Something that happened (Home Assistant's `event` platform): fires when the car's `event` topic
/// carries a message of one of `kinds` (`vehicle_alert`), with its message as an attribute. No
/// state of its own, nothing retained: an event must not fire again when Home Assistant restarts.
#[derive(Debug, Clone, Copy)]
pub struct Event {
    pub common: Common,
    /// The `kind`s of `<base>/<VIN>/event` messages that fire it (its `event_types`).
    pub kinds: &'static [&'static str],
}

pub const fn event(key: &'static str, name: &'static str, kinds: &'static [&'static str]) -> Event {
    Event {
        common: common(key, name),
        kinds,
    }
}

common_builders!(
    Sensor,
    BinarySensor,
    Switch,
    Number,
    Select,
    Button,
    Cover,
    Lock,
    Climate,
    Update,
    Tracker,
    Time,
    Event
);
control_builders!(Switch, Number, Select, Button, Cover, Lock, Climate, Update, Time);

/// Every row of the catalog, one variant per platform family.
#[derive(Debug, Clone, Copy)]
pub enum Entity {
    Sensor(Sensor),
    BinarySensor(BinarySensor),
    Switch(Switch),
    Number(Number),
    Select(Select),
    Button(Button),
    Cover(Cover),
    Lock(Lock),
    Climate(Climate),
    Update(Update),
    Tracker(Tracker),
    Time(Time),
    Event(Event),
}

macro_rules! from_rows {
    ($($row:ident),*) => {$(
        impl $row {
            /// As a catalog row.
            pub const fn row(self) -> Entity {
                Entity::$row(self)
            }
        }
    )*};
}

from_rows!(
    Sensor,
    BinarySensor,
    Switch,
    Number,
    Select,
    Button,
    Cover,
    Lock,
    Climate,
    Update,
    Tracker,
    Time,
    Event
);
