//! A labelled corpus for `data_type` (issue 12): generated tables in English, German, French and
//! Spanish, each with the kind a person would name it (`crm`, `inventory`, …, or `data` when it
//! is none of them), including the cases: a customer report with email, website and
//! sign-up columns (`crm`, not `data`), an inventory sheet with stock levels (`inventory`, not
//! `ecommerce`), German headers with `ja`/`nein` booleans.
//!
//! Design decision: each table is one line of `Header=role` columns, and the values come from
//! the role, written in the language's conventions (`;` and a decimal comma, `15.03.2024` or
//! `15/03/2024`, `1.234,50 €`, `ja`/`oui`/`sí`), so a case is readable at a glance and tests the
//! value evidence (emails, SKUs, amounts, IBANs, …) as much as the headers.

use crate::Rng;

/// One labelled table.
#[derive(Debug, Clone)]
pub struct DataTypeCase {
    /// `de_inventory_2`: language, expected kind, number.
    pub name: String,
    /// `en`, `de`, `fr` or `es`.
    pub language: &'static str,
    /// The kind a person would give the table (`data` for none).
    pub expected: &'static str,
    /// The CSV (`,` for English, `;` otherwise), 12 data rows.
    pub csv: String,
}

const ROWS: usize = 12;

/// `(expected kind, language, "Header=role; …")`. Roles: `id`, `code:PFX`, `sku`, `uuid`,
/// `name`, `first`, `last`, `company`, `email`, `url`, `phone`, `city`, `country`, `date`,
/// `datetime`, `money`, `num`, `int:LO-HI`, `pct`, `bool`, `ip`, `iban`, `icd`, `track`, `bp`,
/// `one:a/b/c` (one of the listed values).
const SPECS: &[(&str, &str, &str)] = &[
    // ---- ecommerce
    ("ecommerce", "en", "Order ID=code:ORD; Order Date=date; Customer=name; Product=one:T-shirt/Mug/Cap/Backpack; Qty=int:1-5; Unit Price=money; Total=money; Status=one:pending/paid/shipped/refunded"),
    ("ecommerce", "en", "order_number=id; sku=sku; quantity=int:1-9; price=num; discount_code=one:SPRING10/NONE/WELCOME5; customer_email=email"),
    ("ecommerce", "en", "Cart ID=uuid; Item=one:Lamp/Chair/Desk; Price=money; Coupon=one:NONE/SAVE10; Checkout Time=datetime"),
    ("ecommerce", "de", "Bestellnummer=id; Bestelldatum=date; Kunde=name; Artikel=one:Tasse/Kappe/Rucksack/Hemd; Menge=int:1-5; Einzelpreis=money; Gesamt=money; Bezahlt=bool"),
    ("ecommerce", "de", "Warenkorb-ID=id; Produkt=one:Lampe/Stuhl/Tisch; Stückpreis=money; Rabatt=pct; Versandkosten=money"),
    ("ecommerce", "fr", "N° de commande=id; Date=date; Client=name; Produit=one:Tasse/Casquette/Sac à dos; Quantité=int:1-5; Prix unitaire=money; Total TTC=money; Statut=one:payée/expédiée/annulée"),
    ("ecommerce", "es", "Nº pedido=id; Fecha=date; Cliente=name; Producto=one:Taza/Gorra/Mochila; Cantidad=int:1-5; Precio=money; Enviado=bool"),
    // ---- crm
    ("crm", "en", "Customer ID=id; Name=name; Email=email; Website=url; Sign-up Date=date"),
    ("crm", "en", "Lead Name=name; Company=company; Stage=one:new/qualified/won/lost; Deal Value=money; Owner=first; Last Contacted=date"),
    ("crm", "en", "Contact=name; Email Address=email; Phone Number=phone; Account=company; Member Since=date"),
    ("crm", "de", "Kundennr=id; Firma=company; Ansprechpartner=name; E-Mail=email; Telefon=phone; Newsletter=bool; Registriert am=date"),
    ("crm", "fr", "Prénom=first; Nom=last; Société=company; Courriel=email; Téléphone=phone; Site web=url; Date d'inscription=date"),
    ("crm", "es", "Nombre=first; Apellido=last; Empresa=company; Correo electrónico=email; Teléfono=phone; Fecha de alta=date; Activo=bool"),
    ("crm", "es", "Oportunidad=one:Renovación/Ampliación/Nueva venta; Cliente=company; Etapa=one:ganado/perdido/negociación; Importe=money; Responsable=name"),
    // ---- finance
    ("finance", "en", "Transaction ID=id; Date=date; Description=one:Coffee/Rent/Salary/Groceries; Debit=money; Credit=money; Balance=money"),
    ("finance", "en", "Invoice No=code:INV; Invoice Date=date; Due Date=date; Client=company; Net Amount=money; VAT=money; Paid=bool"),
    ("finance", "en", "Month=one:Jan/Feb/Mar/Apr; Revenue=money; Expenses=money; Profit=money; Margin=pct"),
    ("finance", "de", "Buchungsdatum=date; Verwendungszweck=one:Miete/Gehalt/Einkauf; Betrag=money; Saldo=money; IBAN=iban"),
    ("finance", "de", "Rechnungsnr=code:RE; Rechnungsdatum=date; Fällig am=date; Netto=money; MwSt=money; Brutto=money"),
    ("finance", "fr", "Date=date; Libellé=one:Loyer/Salaire/Courses; Débit=money; Crédit=money; Solde=money"),
    ("finance", "es", "Fecha=date; Concepto=one:Alquiler/Nómina/Compra; Importe=money; Saldo=money; Cuenta=iban"),
    // ---- inventory
    ("inventory", "en", "SKU=sku; Product Name=one:Desk Lamp/Office Chair/Monitor Arm; Stock Level=int:0-500; Warehouse=one:North/South/East; Reorder Point=int:10-50"),
    ("inventory", "en", "Item Code=sku; Description=one:Bolt M6/Nut M6/Washer; On Hand=int:0-900; Reserved=int:0-50; Available=int:0-850; Bin=code:B; Supplier=company"),
    ("inventory", "en", "sku=sku; warehouse=one:WH1/WH2; qty_on_hand=int:0-300; last_counted=date"),
    ("inventory", "de", "Artikelnummer=sku; Bezeichnung=one:Schraube/Mutter/Scheibe; Lagerbestand=int:0-900; Mindestbestand=int:10-60; Lagerort=one:Halle 1/Halle 2; Lieferant=company"),
    ("inventory", "fr", "Référence=sku; Désignation=one:Vis/Écrou/Rondelle; Stock=int:0-900; Seuil de réapprovisionnement=int:10-60; Entrepôt=one:Lyon/Lille; Fournisseur=company"),
    ("inventory", "es", "Código=sku; Descripción=one:Tornillo/Tuerca/Arandela; Existencias=int:0-900; Almacén=one:Madrid/Sevilla; Proveedor=company; Ubicación=code:A"),
    // ---- hr
    ("hr", "en", "Employee ID=code:E; Full Name=name; Department=one:Sales/IT/Finance; Job Title=one:Analyst/Engineer/Manager; Hire Date=date; Salary=money; Full-time=bool"),
    ("hr", "en", "staff_id=id; name=name; manager=name; vacation_days=int:0-30; sick_days=int:0-10"),
    ("hr", "de", "Personalnummer=id; Name=name; Abteilung=one:Vertrieb/IT/Einkauf; Eintrittsdatum=date; Bruttogehalt=money; Vollzeit=bool"),
    ("hr", "de", "Mitarbeiter=name; Urlaubstage=int:0-30; Überstunden=int:0-40; Krankheitstage=int:0-12"),
    ("hr", "fr", "Matricule=id; Nom=name; Service=one:Ventes/Informatique; Poste=one:Analyste/Ingénieur; Date d'embauche=date; Salaire=money; Temps plein=bool"),
    ("hr", "es", "Legajo=id; Empleado=name; Departamento=one:Ventas/TI; Puesto=one:Analista/Ingeniero; Fecha de ingreso=date; Sueldo=money"),
    // ---- marketing
    ("marketing", "en", "Campaign=one:Spring Sale/Black Friday; Channel=one:Google Ads/Facebook/Newsletter; Impressions=int:1000-90000; Clicks=int:10-900; CTR=pct; Spend=money; Conversions=int:0-60"),
    ("marketing", "en", "utm_source=one:google/newsletter; utm_medium=one:cpc/email; sessions=int:10-900; bounce_rate=pct; landing_page=url"),
    ("marketing", "en", "Newsletter=one:May issue/June issue; Sent=int:1000-5000; Opens=int:100-900; Open Rate=pct; Unsubscribes=int:0-20"),
    ("marketing", "de", "Kampagne=one:Frühling/Sommer; Kanal=one:Google/Instagram; Impressionen=int:1000-90000; Klicks=int:10-900; Kosten=money; Conversions=int:0-60"),
    ("marketing", "fr", "Campagne=one:Soldes/Rentrée; Canal=one:Google/Instagram; Impressions=int:1000-90000; Clics=int:10-900; Taux de clic=pct; Budget=money"),
    ("marketing", "es", "Campaña=one:Rebajas/Verano; Canal=one:Google/Instagram; Impresiones=int:1000-90000; Clics=int:10-900; Gasto=money; Conversiones=int:0-60"),
    // ---- logistics
    ("logistics", "en", "Shipment ID=code:SHP; Carrier=one:DHL/UPS/FedEx; Tracking Number=track; Origin=city; Destination=city; Weight (kg)=num; Status=one:in transit/delivered/out for delivery"),
    ("logistics", "en", "Route=code:R; Driver=name; Vehicle=one:Truck 1/Truck 2; Pallets=int:1-30; Departure=datetime; ETA=datetime"),
    ("logistics", "de", "Sendungsnummer=track; Spediteur=one:DHL/DPD/GLS; Absender=city; Empfänger=name; Gewicht=num; Zugestellt=bool"),
    ("logistics", "fr", "N° de suivi=track; Transporteur=one:Colissimo/Chronopost; Ville de départ=city; Destination=city; Poids=num; Livré=bool"),
    ("logistics", "es", "Número de seguimiento=track; Transportista=one:SEUR/Correos; Origen=city; Destino=city; Peso=num; Entregado=bool"),
    // ---- healthcare
    ("healthcare", "en", "Patient ID=code:P; Name=name; Date of Birth=date; Diagnosis=one:Influenza/Hypertension/Diabetes; ICD-10=icd; Admission Date=date; Discharge Date=date"),
    ("healthcare", "en", "mrn=id; blood_pressure=bp; heart_rate=int:60-100; bmi=num; visit_date=date"),
    ("healthcare", "de", "Patientennr=id; Name=name; Diagnose=one:Grippe/Bluthochdruck; ICD=icd; Aufnahme=date; Entlassung=date; Station=one:3A/4B"),
    ("healthcare", "fr", "N° patient=id; Nom=name; Médecin=name; Diagnostic=one:Grippe/Hypertension; Traitement=one:Repos/Antibiotiques; Date de consultation=date"),
    ("healthcare", "es", "Paciente=name; Médico=name; Diagnóstico=one:Gripe/Hipertensión; Medicamento=one:Ibuprofeno/Paracetamol; Dosis=one:200 mg/500 mg; Fecha=date"),
    // ---- education
    ("education", "en", "Student ID=id; Student Name=name; Course=one:Math/History/Biology; Grade=one:A/B/C/D; GPA=num; Semester=one:Fall 2024/Spring 2025"),
    ("education", "en", "teacher=name; classroom=one:101/102/B12; subject=one:Math/Art; students=int:15-30"),
    ("education", "de", "Matrikelnummer=id; Name=name; Studiengang=one:Informatik/BWL; Semester=int:1-8; Note=num; Prüfung bestanden=bool"),
    ("education", "fr", "Élève=name; Classe=one:6e A/5e B; Matière=one:Maths/Français/Histoire; Note=num; Professeur=name"),
    ("education", "es", "Alumno=name; Curso=one:1º ESO/2º ESO; Asignatura=one:Matemáticas/Lengua; Nota=num; Asistencia=pct"),
    // ---- real_estate
    ("real_estate", "en", "Listing ID=id; City=city; Bedrooms=int:1-5; Bathrooms=int:1-3; Sqft=int:500-3000; Asking Price=money; Year Built=int:1950-2020"),
    ("real_estate", "en", "tenant=name; unit=code:U; monthly_rent=money; lease_start=date; lease_end=date"),
    ("real_estate", "de", "Objekt-Nr=id; Ort=city; Zimmer=int:1-5; Wohnfläche (m²)=int:30-180; Kaltmiete=money; Nebenkosten=money; Baujahr=int:1950-2020"),
    ("real_estate", "fr", "Référence=code:AP; Ville=city; Pièces=int:1-5; Surface (m²)=int:20-150; Loyer=money; Charges=money; Étage=int:0-6"),
    ("real_estate", "es", "Inmueble=code:INM; Ciudad=city; Habitaciones=int:1-5; Baños=int:1-3; Superficie (m²)=int:30-180; Precio=money; Alquiler=bool"),
    // ---- events
    ("events", "en", "timestamp=datetime; level=one:INFO/WARN/ERROR; message=one:started/timeout/done; user_agent=one:Mozilla 5.0/curl 8.0; ip=ip"),
    ("events", "en", "Time=datetime; Method=one:GET/POST; Path=one:/api/orders//health; Status Code=one:200/404/500; Latency (ms)=int:1-900; Client IP=ip"),
    ("events", "de", "Zeitstempel=datetime; Schweregrad=one:INFO/WARN/ERROR; Meldung=one:gestartet/Zeitüberschreitung; Host=one:web-1/web-2"),
    ("events", "fr", "Horodatage=datetime; Niveau=one:INFO/ERROR; Message=one:démarré/erreur; Durée (ms)=int:1-900; Adresse IP=ip"),
    ("events", "es", "Marca de tiempo=datetime; Nivel=one:INFO/WARN; Mensaje=one:iniciado/error; Duración=int:1-900; IP=ip"),
    // ---- none of them
    ("data", "en", "x=num; y=num"),
    ("data", "en", "Country=country; Population=int:100000-90000000; Area=int:1000-900000; Capital=city"),
    ("data", "en", "Species=one:setosa/versicolor/virginica; Sepal Length=num; Sepal Width=num; Petal Length=num"),
    ("data", "de", "Stadt=city; Temperatur=num; Luftfeuchtigkeit=pct; Niederschlag=num"),
    ("data", "fr", "Titre=one:Les Misérables/Candide/Germinal; Auteur=name; Année=int:1750-1900; Genre=one:Roman/Conte"),
    ("data", "es", "Equipo=one:Atlético/Betis/Celta; Partidos=int:10-38; Goles=int:0-90; Puntos=int:0-90"),
    ("data", "es", "País=country; Capital=city; Idioma=one:español/inglés/francés; Miembro UE=bool"),
    // ---- written after the header lexicon, after real export formats (bank statements,
    // HubSpot, Google Analytics, Shopify, Moodle, nginx, …), and not tuned for: the misses
    // here are the classifier's honest limits.
    ("finance", "de", "Auftragskonto=iban; Buchungstag=date; Valutadatum=date; Buchungstext=one:LASTSCHRIFT/GUTSCHRIFT/UEBERWEISUNG; Verwendungszweck=one:Miete Mai/Strom/Gehalt; Beguenstigter/Zahlungspflichtiger=company; Betrag=money; Waehrung=one:EUR"),
    ("crm", "en", "First Name=first; Last Name=last; Email=email; Phone Number=phone; Lifecycle Stage=one:lead/customer/subscriber; Contact owner=name; Create Date=datetime"),
    ("marketing", "en", "Source / Medium=one:google - organic/newsletter - email; Users=int:10-900; New Users=int:5-500; Sessions=int:10-1200; Bounce Rate=pct; Avg. Session Duration=one:00:01:23/00:02:10"),
    ("ecommerce", "en", "Name=id; Email=email; Financial Status=one:paid/pending/refunded; Fulfillment Status=one:fulfilled/unfulfilled; Lineitem quantity=int:1-4; Lineitem name=one:Mug/Cap; Lineitem price=num; Shipping=num; Taxes=num; Total=num"),
    ("hr", "fr", "Nom=last; Prénom=first; Salaire brut=money; Cotisations=money; Net à payer=money; Période=one:janvier/février/mars"),
    ("logistics", "es", "Albarán=id; Fecha de envío=date; Transportista=one:SEUR/MRW; Bultos=int:1-5; Kilos=num; Provincia destino=one:Madrid/Valencia"),
    ("healthcare", "de", "Versichertennummer=code:A; Geburtsdatum=date; Hausarzt=name; Krankenkasse=one:AOK/TK/Barmer; Befund=one:unauffällig/auffällig"),
    ("education", "en", "First name=first; Last name=last; Email address=email; Quiz 1 (Real)=num; Assignment 1 (Real)=num; Course total (Real)=num"),
    ("real_estate", "en", "Address=one:12 Oak St/4 Elm Rd/9 Pine Ave; Beds=int:1-5; Baths=int:1-3; Living Area=int:600-3000; Price=money; Days on Market=int:1-120; HOA Fee=money"),
    ("events", "en", "remote_addr=ip; time_local=datetime; request=one:GET /index.html/POST /login; status=one:200/302/404; body_bytes_sent=int:100-90000; http_referer=url"),
    ("inventory", "fr", "Code article=sku; Libellé=one:Vis/Clou/Cheville; Qté en stock=int:0-900; Stock mini=int:5-50; Dépôt=one:Paris/Lyon"),
    ("crm", "es", "Nombre completo=name; Email=email; Móvil=phone; Origen del lead=one:Web/Feria; Estado=one:nuevo/contactado/cualificado"),
    ("marketing", "de", "Betreff=one:Mai-Angebote/Sommer-News; Versendet=int:1000-5000; Geöffnet=int:100-900; Öffnungsrate=pct; Klickrate=pct; Abmeldungen=int:0-20"),
    ("finance", "en", "Date=date; Open=num; High=num; Low=num; Close=num; Volume=int:10000-900000"),
    ("data", "en", "Name=name; Age=int:18-90; Height (cm)=int:150-200; Weight (kg)=num"),
    ("data", "de", "Jahr=int:1990-2020; Bundesland=one:Bayern/Hessen/Sachsen; Einwohner=int:100000-9000000; Fläche km²=num"),
];

const FIRST: [&str; 8] = [
    "Ana", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro",
];
const LAST: [&str; 6] = ["Silva", "Müller", "Dubois", "García", "Novak", "Smith"];
const COMPANIES: [&str; 5] = ["Acme", "Globex", "Initech", "Umbrella", "Hooli"];
const CITIES: [&str; 6] = ["Lisboa", "München", "Lyon", "Sevilla", "Boston", "Kraków"];
const COUNTRIES: [&str; 5] = ["Portugal", "Germany", "France", "Spain", "Chile"];

fn bool_words(lang: &str) -> (&'static str, &'static str) {
    match lang {
        "de" => ("ja", "nein"),
        "fr" => ("oui", "non"),
        "es" => ("sí", "no"),
        _ => ("yes", "no"),
    }
}

/// A number with two decimals in the language's notation (thousands grouped).
fn decimal(cents: u64, lang: &str) -> String {
    let (whole, frac) = (cents / 100, cents % 100);
    let (group, dec) = match lang {
        "en" => (",", "."),
        "fr" => ("\u{a0}", ","),
        _ => (".", ","),
    };
    let whole = if whole >= 1000 {
        format!("{}{group}{:03}", whole / 1000, whole % 1000)
    } else {
        whole.to_string()
    };
    format!("{whole}{dec}{frac:02}")
}

fn value(role: &str, lang: &str, i: usize, r: &mut Rng) -> String {
    let pick = |r: &mut Rng, list: &[&str]| list[r.below(list.len() as u64) as usize].to_string();
    let (y, m, d) = (2020 + r.below(5), 1 + r.below(12), 1 + r.below(28));
    if let Some(list) = role.strip_prefix("one:") {
        let options: Vec<&str> = list.split('/').collect();
        // `one:a/b//c` lists `/api/orders` and `/health` as paths: keep them whole.
        if list.starts_with('/') {
            let paths: Vec<String> = list
                .split("//")
                .map(|p| format!("/{}", p.trim_start_matches('/')))
                .collect();
            return paths[r.below(paths.len() as u64) as usize].clone();
        }
        return pick(r, &options);
    }
    if let Some(prefix) = role.strip_prefix("code:") {
        return format!("{prefix}-{:04}", 1001 + i);
    }
    if let Some(range) = role.strip_prefix("int:") {
        let (lo, hi) = range.split_once('-').unwrap_or(("0", "100"));
        let (lo, hi): (u64, u64) = (lo.parse().unwrap_or(0), hi.parse().unwrap_or(100));
        return (lo + r.below(hi - lo + 1)).to_string();
    }
    match role {
        "id" => (1001 + i).to_string(),
        "sku" => format!(
            "{}-{}",
            pick(r, &["TSH", "MUG", "CAP", "BAG", "LMP"]),
            100 + r.below(900)
        ),
        "uuid" => format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            r.next() as u32,
            r.below(0x10000),
            r.below(0x1000),
            r.below(0x1000),
            r.next() & 0xffff_ffff_ffff
        ),
        "name" => format!("{} {}", pick(r, &FIRST), pick(r, &LAST)),
        "first" => pick(r, &FIRST),
        "last" => pick(r, &LAST),
        "company" => pick(r, &COMPANIES),
        "email" => format!(
            "{}.{}@{}.example",
            pick(r, &FIRST).to_lowercase().replace('é', "e"),
            i,
            pick(r, &COMPANIES).to_lowercase()
        ),
        "url" => format!(
            "https://www.{}{i}.example",
            pick(r, &COMPANIES).to_lowercase()
        ),
        "phone" => {
            let n = 1_000_000 + r.below(9_000_000);
            match lang {
                "de" => format!("+49 30 {n}"),
                "fr" => format!("+33 1 {n}"),
                "es" => format!("+34 91 {n}"),
                _ => format!("+1 555 {n}"),
            }
        }
        "city" => pick(r, &CITIES),
        "country" => pick(r, &COUNTRIES),
        "date" => match lang {
            "en" => format!("{y}-{m:02}-{d:02}"),
            "de" => format!("{d:02}.{m:02}.{y}"),
            _ => format!("{d:02}/{m:02}/{y}"),
        },
        "datetime" => format!(
            "{y}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            r.below(24),
            r.below(60),
            r.below(60)
        ),
        "money" => {
            let amount = decimal(100 + r.below(500_000), lang);
            match lang {
                "en" => format!("${amount}"),
                _ => format!("{amount} €"),
            }
        }
        "num" => {
            let n = r.below(10_000);
            let dec = if lang == "en" { "." } else { "," };
            format!("{}{dec}{:02}", n / 100, n % 100)
        }
        "bp" => format!("{}/{}", 110 + r.below(40), 70 + r.below(20)),
        "pct" => {
            let p = r.below(1000);
            match lang {
                "en" => format!("{}.{}%", p / 10, p % 10),
                _ => format!("{},{} %", p / 10, p % 10),
            }
        }
        "bool" => {
            let (yes, no) = bool_words(lang);
            if r.below(2) == 0 { yes } else { no }.to_string()
        }
        "ip" => format!("10.{}.{}.{}", r.below(256), r.below(256), 1 + r.below(254)),
        "iban" => format!(
            "{} {:04} {:04} {:04} {:04} {:02}",
            match lang {
                "es" => "ES91",
                "fr" => "FR76",
                _ => "DE89",
            },
            r.below(10_000),
            r.below(10_000),
            r.below(10_000),
            r.below(10_000),
            r.below(100)
        ),
        "icd" => pick(r, &["J10.1", "E11.9", "I10", "K21.0", "M54.5"]),
        "track" => format!("1Z999AA1{:010}", r.below(10_000_000_000)),
        other => panic!("unknown role {other:?}"),
    }
}

/// Quotes a field when it holds the delimiter, a quote or a line break.
fn field(v: &str, delimiter: char) -> String {
    if v.contains([delimiter, '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// Every labelled table (87), deterministic.
pub fn data_type_corpus() -> Vec<DataTypeCase> {
    let mut counts = std::collections::HashMap::new();
    SPECS
        .iter()
        .enumerate()
        .map(|(n, (expected, lang, spec))| {
            let mut r = Rng(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1));
            let delimiter = if *lang == "en" { ',' } else { ';' };
            let columns: Vec<(&str, &str)> = spec
                .split("; ")
                .map(|c| c.split_once('=').unwrap_or((c, "num")))
                .collect();
            let mut csv = columns
                .iter()
                .map(|(h, _)| field(h, delimiter))
                .collect::<Vec<_>>()
                .join(&delimiter.to_string());
            csv.push('\n');
            for i in 0..ROWS {
                let row: Vec<String> = columns
                    .iter()
                    .map(|(_, role)| field(&value(role, lang, i, &mut r), delimiter))
                    .collect();
                csv += &row.join(&delimiter.to_string());
                csv.push('\n');
            }
            let k = counts.entry((*lang, *expected)).or_insert(0);
            *k += 1;
            DataTypeCase {
                name: format!("{lang}_{expected}_{k}"),
                language: lang,
                expected,
                csv,
            }
        })
        .collect()
}

/// How many tables of the corpus a classifier names right, and the ones it does not.
#[derive(Debug, Clone, Default)]
pub struct DataTypeScore {
    pub correct: usize,
    pub total: usize,
    /// `(case name, expected, answered)` for every miss.
    pub misses: Vec<(String, &'static str, String)>,
}

impl DataTypeScore {
    pub fn percent(&self) -> f64 {
        100.0 * self.correct as f64 / self.total.max(1) as f64
    }
}

/// Runs `data_type_of` (CSV bytes → data type) over the whole corpus. A closure, so this crate
/// needs no dependency on `ingest`.
pub fn score_data_types(data_type_of: impl Fn(&[u8]) -> String) -> DataTypeScore {
    let mut score = DataTypeScore::default();
    for case in data_type_corpus() {
        let got = data_type_of(case.csv.as_bytes());
        score.total += 1;
        if got == case.expected {
            score.correct += 1;
        } else {
            score.misses.push((case.name, case.expected, got));
        }
    }
    score
}
